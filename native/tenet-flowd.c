/*
 * tenet-flowd: the agent's reader of what the kernel says about packets in ONE tenant router namespace
 * (the one it runs in: the agent starts it with `nsenter --net=/run/netns/NAME setpriv --pdeathsig KILL`).
 *
 *  - nflog group GROUP (argument 1; the policy compiler's NFLOG_GROUP, src/core/policy/deny-log.ts):
 *    the packets the deny and `log` rules hand over, rate-limited in the kernel rule itself. For each,
 *    one line {"t":"log","ts":MS,"prefix":"...","in":"IF","out":"IF","fam":4|6,"pkt":"HEX"} with the
 *    first 128 bytes of the packet (from the network header; parsed by src/core/flows/packet.ts).
 *  - conntrack events (ctnetlink, NEW and DESTROY): one line
 *    {"t":"ct","ev":"new"|"destroy","ts":MS,"id":N,"fam":4|6,"proto":N,
 *     "o":[src,dst,sport,dport],"r":[src,dst,sport,dport],"op":N,"ob":N,"rp":N,"rb":N,
 *     "mark":N,"status":N,"start":NS,"stop":NS}
 *    (o: original direction tuple, r: reply tuple, so a DNAT shows as o.dst != r.src; counters and
 *    timestamps only when nf_conntrack_acct / nf_conntrack_timestamp are on, which this helper turns on
 *    in its namespace at start, and only on DESTROY events).
 *  - when the kernel could not deliver (socket buffer full: ENOBUFS) a line {"t":"lost","src":"log"|"ct"}
 *    so the agent counts what it never saw.
 *
 * The helper writes lines only; it reads nothing from the agent but the end of its stdin (the agent
 * went away: exit). Built on libnetfilter_log and libnetfilter_conntrack (Debian:
 * libnetfilter-log-dev, libnetfilter-conntrack-dev).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#define SNAPLEN 128

static uint64_t now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

/* JSON string: prefixes come from the compiler (a safe alphabet), interface names from the kernel. */
static void put_string(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c > 0x7e) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void put_ifname(uint32_t index) {
  char name[IF_NAMESIZE + 1] = "";
  if (index == 0 || !if_indextoname(index, name)) name[0] = 0;
  put_string(name);
}

static int on_log(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfa, void *data) {
  (void)gh;
  (void)data;
  char *payload = NULL;
  int length = nflog_get_payload(nfa, &payload);
  const char *prefix = nflog_get_prefix(nfa);
  printf("{\"t\":\"log\",\"ts\":%" PRIu64 ",\"prefix\":", now_ms());
  put_string(prefix ? prefix : "");
  printf(",\"in\":");
  put_ifname(nflog_get_indev(nfa));
  printf(",\"out\":");
  put_ifname(nflog_get_outdev(nfa));
  int family = nfmsg->nfgen_family == AF_INET6 ? 6 : 4;
  if (length > 0 && ((unsigned char)payload[0] >> 4) == 6) family = 6;
  printf(",\"fam\":%d,\"pkt\":\"", family);
  if (length > SNAPLEN) length = SNAPLEN;
  for (int i = 0; i < length; i++) printf("%02x", (unsigned char)payload[i]);
  printf("\"}\n");
  return 0;
}

static void put_address(const struct nf_conntrack *ct, int family, int v4, int v6) {
  char text[INET6_ADDRSTRLEN] = "";
  if (family == AF_INET) {
    uint32_t a = nfct_get_attr_u32(ct, v4);
    inet_ntop(AF_INET, &a, text, sizeof text);
  } else {
    const void *a = nfct_get_attr(ct, v6);
    if (a) inet_ntop(AF_INET6, a, text, sizeof text);
  }
  put_string(text);
}

static uint16_t port(const struct nf_conntrack *ct, int attr) {
  return nfct_attr_is_set(ct, attr) > 0 ? ntohs(nfct_get_attr_u16(ct, attr)) : 0;
}

static uint64_t u64_or_0(const struct nf_conntrack *ct, int attr) {
  return nfct_attr_is_set(ct, attr) > 0 ? nfct_get_attr_u64(ct, attr) : 0;
}

static int on_ct(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data) {
  (void)data;
  int family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  if (family != AF_INET && family != AF_INET6) return NFCT_CB_CONTINUE;
  const char *event = type == NFCT_T_NEW ? "new" : type == NFCT_T_DESTROY ? "destroy" : NULL;
  if (!event) return NFCT_CB_CONTINUE;
  printf("{\"t\":\"ct\",\"ev\":\"%s\",\"ts\":%" PRIu64 ",\"id\":%" PRIu32 ",\"fam\":%d,\"proto\":%u,\"o\":[", event, now_ms(),
         nfct_attr_is_set(ct, ATTR_ID) > 0 ? nfct_get_attr_u32(ct, ATTR_ID) : 0, family == AF_INET ? 4 : 6,
         (unsigned)nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO));
  put_address(ct, family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC);
  putchar(',');
  put_address(ct, family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST);
  printf(",%u,%u],\"r\":[", port(ct, ATTR_ORIG_PORT_SRC), port(ct, ATTR_ORIG_PORT_DST));
  put_address(ct, family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC);
  putchar(',');
  put_address(ct, family, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST);
  printf(",%u,%u]", port(ct, ATTR_REPL_PORT_SRC), port(ct, ATTR_REPL_PORT_DST));
  printf(",\"op\":%" PRIu64 ",\"ob\":%" PRIu64 ",\"rp\":%" PRIu64 ",\"rb\":%" PRIu64, u64_or_0(ct, ATTR_ORIG_COUNTER_PACKETS),
         u64_or_0(ct, ATTR_ORIG_COUNTER_BYTES), u64_or_0(ct, ATTR_REPL_COUNTER_PACKETS), u64_or_0(ct, ATTR_REPL_COUNTER_BYTES));
  printf(",\"mark\":%" PRIu32 ",\"status\":%" PRIu32 ",\"start\":%" PRIu64 ",\"stop\":%" PRIu64 "}\n",
         nfct_attr_is_set(ct, ATTR_MARK) > 0 ? nfct_get_attr_u32(ct, ATTR_MARK) : 0,
         nfct_attr_is_set(ct, ATTR_STATUS) > 0 ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0, u64_or_0(ct, ATTR_TIMESTAMP_START),
         u64_or_0(ct, ATTR_TIMESTAMP_STOP));
  return NFCT_CB_CONTINUE;
}

/* Counters and timestamps of connections made from now on (the sysctls are per namespace). */
static void enable_sysctl(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/net/netfilter/%s", name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1) fprintf(stderr, "tenet-flowd: cannot enable %s: %s\n", name, strerror(errno));
  if (fd >= 0) close(fd);
}

static void lost(const char *source) {
  printf("{\"t\":\"lost\",\"src\":\"%s\",\"ts\":%" PRIu64 "}\n", source, now_ms());
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tenet-flowd NFLOG_GROUP\n");
    return 2;
  }
  char *end = NULL;
  long group = strtol(argv[1], &end, 10);
  if (!end || *end || group < 1 || group > 65535) {
    fprintf(stderr, "tenet-flowd: bad group %s\n", argv[1]);
    return 2;
  }
  static char out[1 << 16];
  setvbuf(stdout, out, _IOFBF, sizeof out);

  struct nflog_handle *log = nflog_open();
  if (!log) {
    perror("tenet-flowd: nflog_open");
    return 1;
  }
  struct nflog_g_handle *gh = nflog_bind_group(log, (uint16_t)group);
  if (!gh) {
    perror("tenet-flowd: nflog_bind_group");
    return 1;
  }
  if (nflog_set_mode(gh, NFULNL_COPY_PACKET, SNAPLEN) < 0) perror("tenet-flowd: nflog_set_mode");
  nflog_callback_register(gh, on_log, NULL);
  nfnl_rcvbufsiz(nflog_nfnlh(log), 1 << 20);
  int log_fd = nflog_fd(log);

  // Conntrack may not be loaded yet in a namespace nothing tracks in; the sysctls exist once it is.
  struct nfct_handle *ct = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY);
  if (!ct) {
    perror("tenet-flowd: nfct_open");
    return 1;
  }
  enable_sysctl("nf_conntrack_acct");
  enable_sysctl("nf_conntrack_timestamp");
  nfct_callback_register(ct, NFCT_T_NEW | NFCT_T_DESTROY, on_ct, NULL);
  nfnl_rcvbufsiz(nfct_nfnlh(ct), 4 << 20);
  int ct_fd = nfct_fd(ct);
  fcntl(ct_fd, F_SETFL, fcntl(ct_fd, F_GETFL) | O_NONBLOCK);
  printf("{\"t\":\"ready\",\"ts\":%" PRIu64 "}\n", now_ms());
  fflush(stdout);

  static char buffer[1 << 16];
  struct pollfd fds[3] = {{.fd = log_fd, .events = POLLIN}, {.fd = ct_fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      perror("tenet-flowd: poll");
      return 1;
    }
    if (fds[2].revents) {
      char c;
      if (read(0, &c, 1) <= 0) return 0;
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        ssize_t n = recv(log_fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
          nflog_handle_packet(log, buffer, (int)n);
          continue;
        }
        if (n < 0 && errno == ENOBUFS) {
          lost("log");
          continue;
        }
        break;
      }
    }
    if (fds[1].revents & POLLIN) {
      // nfct_catch reads until the socket is empty (EAGAIN) or it overflowed (ENOBUFS).
      while (nfct_catch(ct) < 0 && errno == ENOBUFS) lost("ct");
    }
    fflush(stdout);
  }
}
