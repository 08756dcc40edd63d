/*
 * tenet-ipd: the agent's long-lived helper for the link, address, route and neighbour changes of an
 * attach, so that a container start costs no `ip` process (two per attach, 5-8 ms each here).
 *
 * It speaks rtnetlink itself and understands only the `ip` lines the agent's attach plan writes
 * (src/core/dataplane/attach-plan.ts), with iproute2's meaning and defaults (proto boot; scope link for
 * an IPv4 route without a gateway; NUD_PERMANENT neighbours):
 *   link add NAME type veth peer name PEER netns PATH
 *   link del NAME
 *   link set NAME [address MAC] [mtu N] [up]
 *   addr add|replace ADDR/PREFIX dev NAME [nodad] [noprefixroute]
 *   route add|replace ADDR/PREFIX|default [via GW] dev NAME [onlink]
 *     (`route add default` also fails, EEXIST, when the family's main table has a default route at any
 *     metric: an attach never takes over a namespace's default route)
 *   neigh replace ADDR lladdr MAC dev NAME nud permanent
 *   neigh replace proxy ADDR dev NAME
 *   ntable change name arp_cache|ndisc_cache dev NAME proxy_delay 0
 *   netns PATH   (the following lines run in the namespace at PATH)
 * (the last through the namespace's /proc/sys/net/ipv{4,6}/neigh/NAME/proxy_delay: `ip ntable` dumps
 * every link of the namespace to find NAME, ~15 ms per line once it holds thousands of veths).
 * Anything else is refused as unsupported (the agent then uses `ip -batch`).
 *
 * Protocol on stdin/stdout, the same framing as native/tenet-nftd.c (little-endian):
 *   request: u32 flags (none defined: 0), u32 length + namespace path (e.g. /run/netns/x),
 *            u32 length + text (lines as above, run in order; the first failure stops the rest,
 *            like `ip -batch`)
 *   reply:   i32 status (0 ok, else the 1-based number of the failed line, -1 when the namespace
 *            cannot be entered), u32 length + output (always empty), u32 length + error message
 * The namespace is entered for each request and left afterwards, so the helper never keeps a deleted
 * namespace alive. If it cannot return to its own namespace it exits rather than serve from a wrong one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQUEST (64u * 1024u * 1024u)
#define MAX_TOKENS 24

static int home_ns = -1;
static char message[4096];

struct buffer {
  char data[4096];
  struct nlmsghdr *header;
};

static void fail_msg(const char *fmt, const char *a, const char *b) {
  snprintf(message, sizeof message, fmt, a, b);
}

/* --------------------------------------------------------------- netlink messages */

static void *tail(struct buffer *b) { return b->data + NLMSG_ALIGN(b->header->nlmsg_len); }

static void begin(struct buffer *b, uint16_t type, uint16_t flags, const void *body, size_t body_len) {
  memset(b->data, 0, sizeof b->data);
  b->header = (struct nlmsghdr *)b->data;
  b->header->nlmsg_len = NLMSG_LENGTH(body_len);
  b->header->nlmsg_type = type;
  b->header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  memcpy(NLMSG_DATA(b->header), body, body_len);
}

static struct rtattr *attr(struct buffer *b, uint16_t type, const void *value, size_t len) {
  struct rtattr *a = tail(b);
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), value, len);
  b->header->nlmsg_len = NLMSG_ALIGN(b->header->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static struct rtattr *nest_begin(struct buffer *b, uint16_t type) { return attr(b, type, NULL, 0); }

static void nest_end(struct buffer *b, struct rtattr *nest) { nest->rta_len = (unsigned short)((char *)tail(b) - (char *)nest); }

/* Sends one message and waits for its acknowledgement: 0, or -errno with the kernel's extended message. */
static int transact(int fd, struct buffer *b) {
  static uint32_t seq;
  b->header->nlmsg_seq = ++seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, b->data, b->header->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  char reply[8192];
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *err = NLMSG_DATA(h);
      message[0] = 0;
      if (err->error != 0 && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
        /* Extended ack: the kernel's own words, after the echoed request header. */
        size_t offset = sizeof *err;
        if (!(h->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
        struct rtattr *a = (struct rtattr *)((char *)err + NLMSG_ALIGN(offset));
        int left = (int)h->nlmsg_len - (int)NLMSG_HDRLEN - (int)NLMSG_ALIGN(offset);
        for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
          if (a->rta_type == NLMSGERR_ATTR_MSG) snprintf(message, sizeof message, "%s", (char *)RTA_DATA(a));
        }
      }
      return err->error;
    }
  }
}

/* --------------------------------------------------------------- parsing */

struct address {
  int family;
  unsigned char bytes[16];
  int prefix;
};

static int parse_address(const char *text, struct address *out, int with_prefix) {
  char copy[64];
  if (strlen(text) >= sizeof copy) return -1;
  strcpy(copy, text);
  char *slash = strchr(copy, '/');
  if (slash) {
    if (!with_prefix) return -1;
    *slash = 0;
  }
  if (inet_pton(AF_INET, copy, out->bytes) == 1) out->family = AF_INET;
  else if (inet_pton(AF_INET6, copy, out->bytes) == 1) out->family = AF_INET6;
  else return -1;
  int max = out->family == AF_INET ? 32 : 128;
  out->prefix = max;
  if (slash) {
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || p < 0 || p > max) return -1;
    out->prefix = (int)p;
  }
  return 0;
}

static size_t address_len(const struct address *a) { return a->family == AF_INET ? 4 : 16; }

static int parse_mac(const char *text, unsigned char mac[6]) {
  unsigned v[6];
  char extra;
  if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)v[i];
  return 0;
}

static int index_of(const char *name) {
  unsigned index = if_nametoindex(name);
  if (!index) fail_msg("Cannot find device \"%s\"%s", name, "");
  return (int)index;
}

/* --------------------------------------------------------------- commands */

static int link_add_veth(int fd, char **t, int n) {
  /* link add NAME type veth peer name PEER netns PATH */
  if (n != 10 || strcmp(t[3], "type") || strcmp(t[4], "veth") || strcmp(t[5], "peer") || strcmp(t[6], "name") || strcmp(t[8], "netns")) return 1;
  if (strlen(t[2]) >= IFNAMSIZ || strlen(t[7]) >= IFNAMSIZ) {
    fail_msg("interface name too long: %s %s", t[2], t[7]);
    return -1;
  }
  int ns = open(t[9], O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    fail_msg("Cannot open network namespace \"%s\": %s", t[9], strerror(errno));
    return -1;
  }
  struct buffer b;
  struct ifinfomsg info = {.ifi_family = AF_UNSPEC};
  begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
  attr(&b, IFLA_IFNAME, t[2], strlen(t[2]) + 1);
  struct rtattr *linkinfo = nest_begin(&b, IFLA_LINKINFO);
  attr(&b, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = nest_begin(&b, IFLA_INFO_DATA);
  struct rtattr *peer = nest_begin(&b, VETH_INFO_PEER);
  struct ifinfomsg peer_info = {.ifi_family = AF_UNSPEC};
  b.header->nlmsg_len = NLMSG_ALIGN(b.header->nlmsg_len) + sizeof peer_info;
  memcpy((char *)RTA_DATA(peer), &peer_info, sizeof peer_info);
  attr(&b, IFLA_IFNAME, t[7], strlen(t[7]) + 1);
  uint32_t ns_fd = (uint32_t)ns;
  attr(&b, IFLA_NET_NS_FD, &ns_fd, sizeof ns_fd);
  nest_end(&b, peer);
  nest_end(&b, data);
  nest_end(&b, linkinfo);
  int rc = transact(fd, &b);
  close(ns);
  return rc;
}

static int link_del(int fd, char **t, int n) {
  /* link del NAME (a veth's deletion waits for RCU grace periods: callers give deletions their own helper) */
  if (n != 3) return 1;
  int index = index_of(t[2]);
  if (!index) return -ENODEV;
  struct ifinfomsg info = {.ifi_family = AF_UNSPEC, .ifi_index = index};
  struct buffer b;
  begin(&b, RTM_DELLINK, 0, &info, sizeof info);
  return transact(fd, &b);
}

static int link_set(int fd, char **t, int n) {
  /* link set NAME [address MAC] [mtu N] [up] */
  if (n < 4) return 1;
  int index = index_of(t[2]);
  if (!index) return -ENODEV;
  struct ifinfomsg info = {.ifi_family = AF_UNSPEC, .ifi_index = index};
  struct buffer b;
  unsigned char mac[6];
  int have_mac = 0;
  uint32_t mtu = 0;
  for (int i = 3; i < n; i++) {
    if (!strcmp(t[i], "up")) {
      info.ifi_flags |= IFF_UP;
      info.ifi_change |= IFF_UP;
    } else if (!strcmp(t[i], "address") && i + 1 < n) {
      if (parse_mac(t[++i], mac)) return 1;
      have_mac = 1;
    } else if (!strcmp(t[i], "mtu") && i + 1 < n) {
      char *end;
      unsigned long v = strtoul(t[++i], &end, 10);
      if (*end || v == 0 || v > 65535) return 1;
      mtu = (uint32_t)v;
    } else return 1;
  }
  begin(&b, RTM_NEWLINK, 0, &info, sizeof info);
  if (have_mac) attr(&b, IFLA_ADDRESS, mac, 6);
  if (mtu) attr(&b, IFLA_MTU, &mtu, sizeof mtu);
  return transact(fd, &b);
}

static int addr_change(int fd, char **t, int n) {
  /* addr add|replace ADDR/PREFIX dev NAME [nodad] [noprefixroute] */
  if (n < 5 || strcmp(t[3], "dev")) return 1;
  struct address a;
  if (parse_address(t[2], &a, 1)) return 1;
  uint32_t flags = 0;
  for (int i = 5; i < n; i++) {
    if (!strcmp(t[i], "nodad")) flags |= IFA_F_NODAD;
    else if (!strcmp(t[i], "noprefixroute")) flags |= IFA_F_NOPREFIXROUTE;
    else return 1;
  }
  int index = index_of(t[4]);
  if (!index) return -ENODEV;
  struct ifaddrmsg msg = {.ifa_family = (unsigned char)a.family, .ifa_prefixlen = (unsigned char)a.prefix, .ifa_index = (unsigned)index};
  struct buffer b;
  begin(&b, RTM_NEWADDR, NLM_F_CREATE | (!strcmp(t[1], "replace") ? NLM_F_REPLACE : NLM_F_EXCL), &msg, sizeof msg);
  attr(&b, IFA_LOCAL, a.bytes, address_len(&a));
  attr(&b, IFA_ADDRESS, a.bytes, address_len(&a));
  if (flags) attr(&b, IFA_FLAGS, &flags, sizeof flags);
  return transact(fd, &b);
}

/* Whether the main table of `family` holds a default route (any metric, type or next hop): 1, 0, or -errno. */
static int has_default_route(int fd, int family) {
  static uint32_t seq = 0x40000000u; /* apart from transact()'s */
  struct rtmsg msg = {.rtm_family = (unsigned char)family};
  struct buffer b;
  begin(&b, RTM_GETROUTE, 0, &msg, sizeof msg);
  b.header->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  b.header->nlmsg_seq = ++seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, b.data, b.header->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  static char reply[65536];
  int found = 0;
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    /* Read to the end of the dump even once one is found: nothing of it may be left for the next request. */
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return found;
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (h->nlmsg_type != RTM_NEWROUTE) continue;
      struct rtmsg *r = NLMSG_DATA(h);
      if (r->rtm_dst_len != 0) continue;
      uint32_t table = r->rtm_table;
      int left = (int)RTM_PAYLOAD(h);
      for (struct rtattr *a = RTM_RTA(r); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
        if (a->rta_type == RTA_TABLE) memcpy(&table, RTA_DATA(a), sizeof table);
      }
      if (table == RT_TABLE_MAIN) found = 1;
    }
  }
}

static int route_change(int fd, char **t, int n) {
  /* route add|replace ADDR/PREFIX|default [via GW] dev NAME [onlink] */
  if (n < 5 || (strcmp(t[1], "replace") && strcmp(t[1], "add"))) return 1;
  int replace = !strcmp(t[1], "replace");
  struct address dst = {0}, gw = {0};
  int is_default = !strcmp(t[2], "default");
  if (!is_default && parse_address(t[2], &dst, 1)) return 1;
  int i = 3, have_gw = 0, onlink = 0;
  const char *dev = NULL;
  for (; i < n; i++) {
    if (!strcmp(t[i], "via") && i + 1 < n) {
      if (parse_address(t[++i], &gw, 0)) return 1;
      have_gw = 1;
    } else if (!strcmp(t[i], "dev") && i + 1 < n) dev = t[++i];
    else if (!strcmp(t[i], "onlink")) onlink = 1;
    else return 1;
  }
  if (!dev) return 1;
  int family = is_default ? (have_gw ? gw.family : AF_INET) : dst.family;
  if (have_gw && gw.family != family) return 1;
  int index = index_of(dev);
  if (!index) return -ENODEV;
  if (is_default && !replace) {
    int has = has_default_route(fd, family);
    if (has < 0) return has;
    if (has) {
      fail_msg("the namespace has an %s default route already; it is never replaced%s", family == AF_INET ? "IPv4" : "IPv6", "");
      return -EEXIST;
    }
  }
  struct rtmsg msg = {
      .rtm_family = (unsigned char)family,
      .rtm_dst_len = (unsigned char)(is_default ? 0 : dst.prefix),
      .rtm_table = RT_TABLE_MAIN,
      .rtm_protocol = RTPROT_BOOT,
      /* iproute2's defaults: IPv6 routes are universe; IPv4 without a gateway are link. */
      .rtm_scope = (family == AF_INET && !have_gw) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
      .rtm_type = RTN_UNICAST,
      .rtm_flags = onlink ? RTNH_F_ONLINK : 0,
  };
  struct buffer b;
  begin(&b, RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), &msg, sizeof msg);
  uint32_t table = RT_TABLE_MAIN;
  attr(&b, RTA_TABLE, &table, sizeof table);
  if (!is_default) attr(&b, RTA_DST, dst.bytes, address_len(&dst));
  if (have_gw) attr(&b, RTA_GATEWAY, gw.bytes, address_len(&gw));
  uint32_t oif = (uint32_t)index;
  attr(&b, RTA_OIF, &oif, sizeof oif);
  return transact(fd, &b);
}

static int neigh_replace(int fd, char **t, int n) {
  /* neigh replace ADDR lladdr MAC dev NAME nud permanent | neigh replace proxy ADDR dev NAME */
  if (n < 5 || strcmp(t[1], "replace")) return 1;
  int proxy = !strcmp(t[2], "proxy");
  struct address a;
  unsigned char mac[6];
  const char *dev;
  if (proxy) {
    if (n != 6 || strcmp(t[4], "dev") || parse_address(t[3], &a, 0)) return 1;
    dev = t[5];
  } else {
    if (n != 9 || strcmp(t[3], "lladdr") || strcmp(t[5], "dev") || strcmp(t[7], "nud") || strcmp(t[8], "permanent")) return 1;
    if (parse_address(t[2], &a, 0) || parse_mac(t[4], mac)) return 1;
    dev = t[6];
  }
  int index = index_of(dev);
  if (!index) return -ENODEV;
  struct ndmsg msg = {.ndm_family = (unsigned char)a.family, .ndm_ifindex = index, .ndm_state = NUD_PERMANENT, .ndm_flags = proxy ? NTF_PROXY : 0};
  struct buffer b;
  begin(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &msg, sizeof msg);
  attr(&b, NDA_DST, a.bytes, address_len(&a));
  if (!proxy) attr(&b, NDA_LLADDR, mac, 6);
  return transact(fd, &b);
}

static int ntable_change(char **t, int n) {
  /* ntable change name arp_cache|ndisc_cache dev NAME proxy_delay 0 */
  if (n != 8 || strcmp(t[1], "change") || strcmp(t[2], "name") || strcmp(t[4], "dev") || strcmp(t[6], "proxy_delay") || strcmp(t[7], "0")) return 1;
  const char *family = !strcmp(t[3], "arp_cache") ? "ipv4" : !strcmp(t[3], "ndisc_cache") ? "ipv6" : NULL;
  if (!family || strchr(t[5], '/') || !strcmp(t[5], ".") || !strcmp(t[5], "..") || strlen(t[5]) >= IFNAMSIZ) return 1;
  if (!index_of(t[5])) return -ENODEV;
  /* /proc/sys/net shows the namespace of the process that opens it: this one has entered it. */
  char file[128];
  snprintf(file, sizeof file, "/proc/sys/net/%s/neigh/%s/proxy_delay", family, t[5]);
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "0\n", 2) != 2) {
    int err = errno;
    if (fd >= 0) close(fd);
    fail_msg("%s: %s", file, strerror(err));
    return -err;
  }
  close(fd);
  return 0;
}

/* 0 ok; 1 unsupported line; -errno kernel or lookup failure (message set). */
static int run_line(int fd, char *line) {
  char *t[MAX_TOKENS];
  int n = 0;
  for (char *save = NULL, *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    if (n == MAX_TOKENS) return 1;
    t[n++] = tok;
  }
  if (n < 2) return n == 0 ? 0 : 1;
  if (!strcmp(t[0], "link") && !strcmp(t[1], "add")) return link_add_veth(fd, t, n);
  if (!strcmp(t[0], "link") && !strcmp(t[1], "set")) return link_set(fd, t, n);
  if (!strcmp(t[0], "link") && !strcmp(t[1], "del")) return link_del(fd, t, n);
  if (!strcmp(t[0], "addr") && (!strcmp(t[1], "add") || !strcmp(t[1], "replace"))) return addr_change(fd, t, n);
  if (!strcmp(t[0], "route")) return route_change(fd, t, n);
  if (!strcmp(t[0], "neigh")) return neigh_replace(fd, t, n);
  if (!strcmp(t[0], "ntable")) return ntable_change(t, n);
  return 1;
}

/* --------------------------------------------------------------- requests */

static int read_full(void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(0, (char *)buf + done, len - done);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += (size_t)n;
  }
  return 0;
}

static int write_full(const void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(1, (const char *)buf + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += (size_t)n;
  }
  return 0;
}

static char *read_field(uint32_t *len) {
  if (read_full(len, sizeof *len) || *len > MAX_REQUEST) return NULL;
  char *text = malloc(*len + 1);
  if (!text) return NULL;
  if (read_full(text, *len)) {
    free(text);
    return NULL;
  }
  text[*len] = 0;
  return text;
}

static int reply(int32_t status) {
  uint32_t empty = 0, len = (uint32_t)strlen(message);
  return write_full(&status, sizeof status) || write_full(&empty, sizeof empty) || write_full(&len, sizeof len) || write_full(message, len);
}

/* Enters the namespace at `path` and opens a netlink socket there: the socket, or -1 (message set). */
static int enter(const char *path) {
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    fail_msg("cannot enter %s: %s", path, strerror(errno));
    if (ns >= 0) close(ns);
    return -1;
  }
  close(ns);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    fail_msg("netlink socket: %s%s", strerror(errno), "");
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return fd;
}

/*
 * Runs the text's lines in order, starting in `path`; a line `netns PATH` moves the rest to another
 * namespace (one request can plumb both ends of a veth). Returns 0, the failed line's number, or -1
 * when the first namespace cannot be entered.
 */
static int32_t serve(const char *path, char *text) {
  int32_t status = 0;
  int fd = enter(path);
  if (fd < 0) status = -1;
  int number = 0;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); fd >= 0 && line; line = strtok_r(NULL, "\n", &save)) {
    number++;
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", line);
    message[0] = 0;
    if (!strncmp(line, "netns ", 6)) {
      close(fd);
      fd = line[6] == '/' ? enter(line + 6) : (fail_msg("namespace must be an absolute path: %s%s", line + 6, ""), -1);
      if (fd < 0) status = number;
      continue;
    }
    int rc = run_line(fd, line);
    if (rc == 0) continue;
    char detail[4096];
    if (rc == 1) snprintf(detail, sizeof detail, "unsupported by tenet-ipd: %s", copy);
    else snprintf(detail, sizeof detail, "%s%s%s", strerror(-rc), message[0] ? ": " : "", message);
    snprintf(message, sizeof message, "%s", detail);
    status = number;
    break;
  }
  if (fd >= 0) close(fd);
  if (setns(home_ns, CLONE_NEWNET) < 0) {
    fprintf(stderr, "tenet-ipd: cannot return to its own network namespace: %s\n", strerror(errno));
    exit(3);
  }
  return status;
}

int main(void) {
  home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ns < 0) {
    perror("tenet-ipd: /proc/self/ns/net");
    return 2;
  }
  for (;;) {
    uint32_t flags, path_len, text_len;
    if (read_full(&flags, sizeof flags)) return 0; /* stdin closed: the agent is gone */
    char *path = read_field(&path_len);
    if (!path) return 1; /* malformed framing */
    char *text = read_field(&text_len);
    if (!text) {
      free(path);
      return 1;
    }
    message[0] = 0;
    int32_t status = flags != 0 ? (fail_msg("unknown flags%s%s", "", ""), -1)
                     : path[0] == '/' && strlen(path) == path_len ? serve(path, text)
                                                                  : (fail_msg("namespace must be an absolute path%s%s", "", ""), -1);
    free(path);
    free(text);
    if (reply(status)) return 1;
  }
}
