/*
 * tenet-nftd: one long-lived libnftables worker for the agent, so that programming nftables in a
 * tenant namespace costs a library call instead of starting `nsenter` + `nft` (6-9 ms each here).
 *
 * Protocol on stdin/stdout, all integers little-endian, one request answered before the next is read:
 *   request: u32 flags (bit0 JSON output as `nft -j`, bit1 terse as `nft -t`),
 *            u32 path length, netns path (absolute, e.g. /run/netns/NAME),
 *            u32 text length, text (an nft script or command; a script is one atomic transaction)
 *   reply:   i32 status (0 ok), u32 output length, output, u32 error length, error text
 *
 * Each request enters the namespace, runs in a fresh nft context (its netlink socket belongs to the
 * namespace it was opened in) and returns to the worker's own namespace before replying, so between
 * requests the worker holds no tenant namespace and a deleted namespace is not kept alive by it.
 * A failure to enter a namespace is an ordinary failed reply; failing to get back is fatal, because
 * serving the next request from the wrong namespace would program the wrong tenant.
 *
 * Exit codes: 0 at end of input, 2 malformed framing or a broken reply pipe, 3 cannot return to the
 * original namespace, 64 usage.
 *
 * `tenet-nftd --monitor` instead prints one line per nftables table, chain, rule or set (map) deleted
 * in the namespace it runs in (`delete rule inet tenet`), read straight from the nftables netlink
 * group, and `overflow` when the kernel dropped events (the receive buffer was full). Not `nft monitor`:
 * that keeps a cache of every set element it is told about (230 MB for 130,000 elements here, whatever
 * event types it prints), and falls behind. Element events are read and dropped; `--monitor-elements`
 * prints them too (`new element inet tenet sv_slot4 <key in hex> …`, one line per netlink message).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#define FLAG_JSON 0x1u
#define FLAG_TERSE 0x2u
#define FLAGS_KNOWN (FLAG_JSON | FLAG_TERSE)
#define MAX_PATH_LEN 4096u
#define MAX_TEXT_LEN (64u * 1024u * 1024u)

static int in_fd = -1;
static int out_fd = -1;
static int home_ns = -1;

static void die(int code, const char *what) {
  fprintf(stderr, "tenet-nftd: %s\n", what);
  exit(code);
}

/* 1 = filled, 0 = clean end of input before the first byte, -1 = end of input or error mid-way. */
static int read_full(void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(in_fd, (char *)buf + done, len - done);
    if (n > 0) {
      done += (size_t)n;
    } else if (n == 0) {
      return done == 0 ? 0 : -1;
    } else if (errno != EINTR) {
      return -1;
    }
  }
  return 1;
}

static void write_full(const void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(out_fd, (const char *)buf + done, len - done);
    if (n > 0) {
      done += (size_t)n;
    } else if (n < 0 && errno != EINTR) {
      /* The agent is gone (EPIPE): nobody is left to serve. */
      die(2, "cannot write reply");
    }
  }
}

static void write_u32(uint32_t value) {
  uint32_t le = htole32(value);
  write_full(&le, sizeof le);
}

static void reply(int32_t status, const char *out, size_t out_len, const char *err, size_t err_len) {
  write_u32((uint32_t)status);
  write_u32((uint32_t)out_len);
  write_full(out, out_len);
  write_u32((uint32_t)err_len);
  write_full(err, err_len);
}

/* A failed request the worker itself refused; `detail` may be NULL. */
static void reply_error(const char *what, const char *path, const char *detail) {
  char msg[MAX_PATH_LEN + 256];
  int n = snprintf(msg, sizeof msg, "%s %s%s%s", what, path, detail ? ": " : "", detail ? detail : "");
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
  reply(1, "", 0, msg, (size_t)n);
}

/* Reads a u32 length and that many bytes plus a terminating NUL; exits on malformed framing. */
static char *read_field(uint32_t max, uint32_t *len_out) {
  uint32_t le;
  if (read_full(&le, sizeof le) != 1) die(2, "truncated request");
  uint32_t len = le32toh(le);
  if (len > max) die(2, "request field too long");
  char *buf = malloc((size_t)len + 1);
  if (!buf) die(2, "out of memory");
  if (len > 0 && read_full(buf, len) != 1) die(2, "truncated request");
  buf[len] = '\0';
  *len_out = len;
  return buf;
}

/*
 * A script (text with a line break, as `nft -f` gets) is run from a memfd by name rather than from
 * the buffer: libnftables 1.0.6 quotes the first line of a buffer under every error, whatever line
 * it is about, while errors from a file name the right line and column. Either way the whole text
 * is one transaction. A one-line command goes as a buffer, as nft's own command line does.
 */
static char script_name[64];

/* `/proc/self/fd/6:4:1-9: Error` means nothing to whoever reads the agent's log: call it "script". */
static char *rename_script(const char *err) {
  size_t name_len = strlen(script_name);
  if (name_len == 0) return strdup(err);
  char *out = malloc(strlen(err) + 1); /* "script" is shorter than any /proc/self/fd/N */
  if (!out) return NULL;
  char *w = out;
  const char *r = err;
  for (const char *p; (p = strstr(r, script_name)) != NULL; r = p + name_len) {
    memcpy(w, r, (size_t)(p - r));
    w += p - r;
    memcpy(w, "script", 6);
    w += 6;
  }
  strcpy(w, r);
  return out;
}

static int run_text(struct nft_ctx *ctx, const char *text, size_t len) {
  script_name[0] = '\0';
  if (!memchr(text, '\n', len)) return nft_run_cmd_from_buffer(ctx, text);
  int fd = memfd_create("nft-script", MFD_CLOEXEC);
  if (fd < 0) return nft_run_cmd_from_buffer(ctx, text);
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n > 0) {
      done += (size_t)n;
    } else if (n < 0 && errno != EINTR) {
      close(fd);
      return nft_run_cmd_from_buffer(ctx, text);
    }
  }
  snprintf(script_name, sizeof script_name, "/proc/self/fd/%d", fd);
  int rc = nft_run_cmd_from_filename(ctx, script_name);
  close(fd);
  return rc;
}

static void serve(uint32_t flags, const char *path, uint32_t path_len, const char *text, uint32_t text_len) {
  /* libnftables takes a C string: an embedded NUL would silently cut the script short. */
  if (strlen(path) != path_len || path[0] != '/') {
    reply_error("invalid namespace path", path, NULL);
    return;
  }
  if (strlen(text) != text_len) {
    reply_error("nft text contains a NUL byte, for", path, NULL);
    return;
  }
  if (flags & ~FLAGS_KNOWN) {
    reply_error("unknown request flags, for", path, NULL);
    return;
  }

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    reply_error("cannot enter", path, strerror(errno));
    return;
  }
  if (setns(fd, CLONE_NEWNET) != 0) {
    int saved = errno;
    close(fd);
    reply_error("cannot enter", path, strerror(saved));
    return;
  }
  close(fd);

  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  int32_t status = 1;
  char *out = NULL;
  char *err = NULL;
  if (ctx) {
    unsigned int oflags = 0;
    if (flags & FLAG_JSON) oflags |= NFT_CTX_OUTPUT_JSON;
    if (flags & FLAG_TERSE) oflags |= NFT_CTX_OUTPUT_TERSE;
    nft_ctx_output_set_flags(ctx, oflags);
    if (nft_ctx_buffer_output(ctx) == 0 && nft_ctx_buffer_error(ctx) == 0) {
      status = run_text(ctx, text, text_len) == 0 ? 0 : 1;
      /* Copied because the buffers die with the context, which must go before leaving the namespace. */
      const char *o = nft_ctx_get_output_buffer(ctx);
      const char *e = nft_ctx_get_error_buffer(ctx);
      out = strdup(o ? o : "");
      err = rename_script(e ? e : "");
    } else {
      err = strdup("cannot buffer nft output");
    }
    nft_ctx_free(ctx);
  } else {
    err = strdup("cannot create an nft context");
  }

  if (setns(home_ns, CLONE_NEWNET) != 0) die(3, "cannot return to the original network namespace");
  if (!out) out = strdup("");
  if (!err) err = strdup("out of memory");
  if (!out || !err) die(2, "out of memory");
  if (status != 0 && err[0] == '\0') {
    free(err);
    err = strdup("nft failed without a message");
    if (!err) die(2, "out of memory");
  }
  reply(status, out, strlen(out), err, strlen(err));
  free(out);
  free(err);
}

static const char *family_name(uint8_t family) {
  switch (family) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return "unknown";
  }
}

/* The table name: the first attribute of every table, chain, rule and set message (NFTA_*_TABLE = 1). */
static void print_table_attr(const struct nlmsghdr *nlh) {
  const char *base = (const char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  const char *end = (const char *)nlh + nlh->nlmsg_len;
  for (const struct nlattr *a = (const struct nlattr *)base; (const char *)a + NLA_HDRLEN <= end && a->nla_len >= NLA_HDRLEN &&
                                                          (const char *)a + a->nla_len <= end;
       a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) != 1) continue;
    const char *name = (const char *)a + NLA_HDRLEN;
    int len = (int)strnlen(name, a->nla_len - NLA_HDRLEN);
    /* Only names nft itself could have made are printed as such. */
    for (int i = 0; i < len; i++)
      if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
            name[i] == '_' || name[i] == '-' || name[i] == '.'))
        return;
    printf(" %.*s", len, name);
    return;
  }
}

/* The keys of a set element message, in hex (NFTA_SET_ELEM_LIST_ELEMENTS → NFTA_LIST_ELEM → NFTA_SET_ELEM_KEY → NFTA_DATA_VALUE). */
static const struct nlattr *nested(const struct nlattr *a) { return (const struct nlattr *)((const char *)a + NLA_HDRLEN); }
#define FOR_ATTRS(a, start, end)                                                                                    \
  for (const struct nlattr *a = (start); (const char *)a + NLA_HDRLEN <= (end) && a->nla_len >= NLA_HDRLEN &&        \
                                         (const char *)a + a->nla_len <= (end);                                     \
       a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len)))

static void print_element_keys(const struct nlmsghdr *nlh) {
  const char *base = (const char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  const char *end = (const char *)nlh + nlh->nlmsg_len;
  FOR_ATTRS(a, (const struct nlattr *)base, end) {
    int type = a->nla_type & NLA_TYPE_MASK;
    if (type == NFTA_SET_ELEM_LIST_SET) {
      const char *name = (const char *)a + NLA_HDRLEN;
      int len = (int)strnlen(name, a->nla_len - NLA_HDRLEN);
      for (int i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_')) return;
      printf(" %.*s", len, name);
    } else if (type == NFTA_SET_ELEM_LIST_ELEMENTS) {
      const char *lend = (const char *)a + a->nla_len;
      FOR_ATTRS(el, nested(a), lend) {
        const char *eend = (const char *)el + el->nla_len;
        FOR_ATTRS(k, nested(el), eend) {
          if ((k->nla_type & NLA_TYPE_MASK) != NFTA_SET_ELEM_KEY) continue;
          const char *kend = (const char *)k + k->nla_len;
          FOR_ATTRS(v, nested(k), kend) {
            if ((v->nla_type & NLA_TYPE_MASK) != NFTA_DATA_VALUE) continue;
            printf(" ");
            const unsigned char *bytes = (const unsigned char *)v + NLA_HDRLEN;
            for (int i = 0; i < v->nla_len - NLA_HDRLEN; i++) printf("%02x", bytes[i]);
          }
        }
      }
    }
  }
}

static _Noreturn void monitor(int elements) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) die(2, "cannot open a netfilter netlink socket");
  /* Large enough for a big transaction's element events between two reads. */
  int size = 64 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1u << (NFNLGRP_NFTABLES - 1)};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die(2, "cannot join the nftables netlink group");
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        printf("overflow\n");
        fflush(stdout);
        continue;
      }
      die(2, "cannot read the nftables netlink group");
    }
    int printed = 0;
    for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (unsigned)n); nlh = NLMSG_NEXT(nlh, n)) {
      if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) continue;
      if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg))) continue;
      const char *kind;
      switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
        case NFT_MSG_DELTABLE: kind = "table"; break;
        case NFT_MSG_DELCHAIN: kind = "chain"; break;
        case NFT_MSG_DELRULE: kind = "rule"; break;
        case NFT_MSG_DELSET: kind = "set"; break;
        case NFT_MSG_NEWSETELEM: kind = elements ? "+element" : NULL; break;
        case NFT_MSG_DELSETELEM: kind = elements ? "-element" : NULL; break;
        default: continue;
      }
      if (kind == NULL) continue;
      const struct nfgenmsg *g = NLMSG_DATA(nlh);
      if (kind[0] == '+' || kind[0] == '-') {
        printf("%s element %s", kind[0] == '+' ? "new" : "delete", family_name(g->nfgen_family));
        print_table_attr(nlh);
        print_element_keys(nlh);
      } else {
        printf("delete %s %s", kind, family_name(g->nfgen_family));
        print_table_attr(nlh);
      }
      printf("\n");
      printed = 1;
    }
    if (printed) fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--monitor") == 0) monitor(0);
  /* The same with every element added or deleted: `new element inet tenet sv_slot4 <key hex> …` (benchmarks time commits by it). */
  if (argc == 2 && strcmp(argv[1], "--monitor-elements") == 0) monitor(1);
  if (argc > 2 || (argc == 2 && strcmp(argv[1], "--stdio") != 0)) {
    fprintf(stderr, "usage: tenet-nftd [--stdio | --monitor | --monitor-elements]\n  serves framed nft requests on stdin/stdout (see the source)\n");
    return 64;
  }
  signal(SIGPIPE, SIG_IGN);

  home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ns < 0) die(2, "cannot open /proc/self/ns/net");

  /*
   * The protocol moves to private descriptors: anything libnftables might print to stdout goes to
   * stderr instead of corrupting a reply, and a script that includes /dev/stdin reads nothing.
   */
  in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (in_fd < 0 || out_fd < 0) die(2, "cannot duplicate stdin/stdout");
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) die(2, "cannot redirect stdin/stdout");
  close(devnull);

  for (;;) {
    uint32_t le;
    int got = read_full(&le, sizeof le);
    if (got == 0) return 0;
    if (got < 0) die(2, "truncated request");
    uint32_t flags = le32toh(le);
    uint32_t path_len, text_len;
    char *path = read_field(MAX_PATH_LEN, &path_len);
    char *text = read_field(MAX_TEXT_LEN, &text_len);
    serve(flags, path, path_len, text, text_len);
    free(path);
    free(text);
  }
}
