/*
 * tenet-flowd: the agent's reader of what the kernel says about packets in ONE tenant router namespace
 * (the one it runs in: the agent starts it with `nsenter --net=/run/netns/NAME setpriv --pdeathsig KILL`).
 *
 *  - nflog group GROUP (argument 1; the policy compiler's NFLOG_GROUP, src/core/policy/deny-log.ts):
 *    the packets the deny and `log` rules hand over, rate-limited in the kernel rule itself. For each,
 *    one line {"t":"log","ts":MS,"prefix":"...","in":"IF","out":"IF","fam":4|6,"pkt":"HEX"} with the
 *    first 128 bytes of the packet (from the network header; parsed by src/core/flows/packet.ts).
 *    nflog numbers the packets it hands over (NFULNL_CFG_F_SEQ): a gap in the numbers is packets the
 *    kernel logged but could not deliver (socket buffer full), written as {"t":"lost","src":"log","n":N}
 *    before the next packet's line, so the agent's count of lost records is exact.
 *  - conntrack events (ctnetlink, NEW and DESTROY; UPDATE only for a TCP connection reaching TIME_WAIT
 *    or CLOSE, filtered in the kernel by a socket filter): one tab-separated line each (the hot lines:
 *    no JSON to write or parse; see print_ct)
 *    C EV TS ID FAM PROTO OSRC ODST OSPORT ODPORT RSRC RDST RSPORT RDPORT OP OB RP RB MARK STATUS START STOP
 *    (EV n: new, c: close, d: destroy; O: original direction tuple, R: reply tuple, so a DNAT shows as
 *    ODST != RSRC; counters and timestamps only when nf_conntrack_acct / nf_conntrack_timestamp are on,
 *    which this helper turns on in its namespace at start; on DESTROY events, and on "close", read with
 *    a GET of the entry since update events carry none — the GETs of one round in one send). "close"
 *    ends a TCP flow when the connection closes instead of when its entry goes (TIME_WAIT: 120 s
 *    later); the DESTROY of a connection that closed is not written.
 *  - when the kernel could not deliver conntrack events (socket buffer full: ENOBUFS) a line
 *    {"t":"lost","src":"ct","n":1}: one overflow, of an unknown number of events.
 *
 * Cost (short connections are the expensive case): conntrack events beyond RATE per second (burst BURST;
 * arguments 2 and 3, the agent's per-namespace rate; RATE 0: no limit) are not written — counted, and written as one line
 * {"t":"throttled","n":N} per batch — so a namespace opening connections as fast as it can costs this
 * helper and the agent a bounded amount (no GET, no line, no parse). And the helper reads in batches:
 * after each round it sleeps BATCH_MS, letting the kernel queue events in the (large) socket buffers,
 * so it wakes (and wakes the agent) at most 1000/BATCH_MS times a second instead of once per event, and
 * takes the queued messages 32 per system call (recvmmsg).
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#define SNAPLEN 128
#define BATCH_MS 25

/* Token bucket of the conntrack lines (see the file comment); rate 0: no limit. */
static double ct_rate = 0, ct_burst = 0, ct_tokens = 0;
static uint64_t ct_at_ms = 0, ct_throttled = 0;

static uint64_t now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

/* Whether one more conntrack line fits the rate; when not, it is counted. */
static int ct_take(void) {
  if (ct_rate <= 0) return 1;
  uint64_t now = now_ms();
  ct_tokens += (double)(now - ct_at_ms) / 1000.0 * ct_rate;
  if (ct_tokens > ct_burst) ct_tokens = ct_burst;
  ct_at_ms = now;
  if (ct_tokens < 1) {
    ct_throttled++;
    return 0;
  }
  ct_tokens -= 1;
  return 1;
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

static int have_seq = 0;
static uint32_t last_seq = 0;

static int on_log(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfa, void *data) {
  (void)gh;
  (void)data;
  uint32_t seq;
  if (nflog_get_seq(nfa, &seq) == 0) {
    // The instance numbers every packet it logs from 0; a gap is packets it could not deliver.
    uint32_t expected = have_seq ? last_seq + 1 : 0;
    if (seq != expected) printf("{\"t\":\"lost\",\"src\":\"log\",\"n\":%" PRIu32 ",\"ts\":%" PRIu64 "}\n", seq - expected, now_ms());
    have_seq = 1;
    last_seq = seq;
  }
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

/*
 * Conntrack lines are the hot ones (two or three per connection): written tab-separated, by hand (no
 * printf, no JSON on either side; src/core/flows/records.ts parseFlowdLine):
 *   C EV TS ID FAM PROTO OSRC ODST OSPORT ODPORT RSRC RDST RSPORT RDPORT OP OB RP RB MARK STATUS START STOP
 * EV: n (new), c (close), d (destroy). Addresses are inet_ntop's text, so a line holds no tab or newline
 * but its own.
 */
static char line[512];
static size_t line_at;

static void put_text(const char *s) {
  size_t n = strlen(s);
  if (line_at + n + 1 < sizeof line) {
    memcpy(line + line_at, s, n);
    line_at += n;
  }
}

static void put_u64(uint64_t v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (line_at + (size_t)n + 2 >= sizeof line) return;
  while (n) line[line_at++] = digits[--n];
}

static void put_tab(void) {
  if (line_at + 2 < sizeof line) line[line_at++] = '\t';
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
  put_tab();
  put_text(text);
}

static uint16_t port(const struct nf_conntrack *ct, int attr) {
  return nfct_attr_is_set(ct, attr) > 0 ? ntohs(nfct_get_attr_u16(ct, attr)) : 0;
}

static uint64_t u64_or_0(const struct nf_conntrack *ct, int attr) {
  return nfct_attr_is_set(ct, attr) > 0 ? nfct_get_attr_u64(ct, attr) : 0;
}

static uint64_t u32_or_0(const struct nf_conntrack *ct, int attr) {
  return nfct_attr_is_set(ct, attr) > 0 ? nfct_get_attr_u32(ct, attr) : 0;
}

static void put_field(uint64_t v) {
  put_tab();
  put_u64(v);
}

static void print_ct(const char *event, const struct nf_conntrack *ct, const struct nf_conntrack *counted) {
  int family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  line_at = 0;
  line[line_at++] = 'C';
  put_tab();
  line[line_at++] = event[0];
  put_field(now_ms());
  put_field(u32_or_0(ct, ATTR_ID));
  put_field(family == AF_INET ? 4 : 6);
  put_field(nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO));
  put_address(ct, family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC);
  put_address(ct, family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST);
  put_field(port(ct, ATTR_ORIG_PORT_SRC));
  put_field(port(ct, ATTR_ORIG_PORT_DST));
  put_address(ct, family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC);
  put_address(ct, family, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST);
  put_field(port(ct, ATTR_REPL_PORT_SRC));
  put_field(port(ct, ATTR_REPL_PORT_DST));
  const struct nf_conntrack *c = counted ? counted : ct;
  put_field(u64_or_0(c, ATTR_ORIG_COUNTER_PACKETS));
  put_field(u64_or_0(c, ATTR_ORIG_COUNTER_BYTES));
  put_field(u64_or_0(c, ATTR_REPL_COUNTER_PACKETS));
  put_field(u64_or_0(c, ATTR_REPL_COUNTER_BYTES));
  put_field(u32_or_0(c, ATTR_MARK));
  put_field(u32_or_0(c, ATTR_STATUS));
  put_field(u64_or_0(c, ATTR_TIMESTAMP_START));
  put_field(u64_or_0(c, ATTR_TIMESTAMP_STOP));
  line[line_at++] = '\n';
  fwrite(line, 1, line_at, stdout);
}

/*
 * Connections that closed (a "close" line was written), so their DESTROY is not written again: a small
 * direct-mapped table of conntrack ids. A collision forgets an id, and that connection's DESTROY is then
 * written as well (a second flow-end record); it never hides the end of another connection.
 */
#define ENDED_SLOTS 8192
static uint32_t ended[ENDED_SLOTS];

static uint32_t *ended_slot(uint32_t id) {
  return &ended[(id * 2654435761u) >> 19];
}

/* When this reader began to take closing updates (ns since the epoch, as conntrack's timestamps). */
static uint64_t reading_since_ns = 0;

/*
 * Whether a DESTROY is of a TCP connection that closed (TIME_WAIT, CLOSE) while this reader took the
 * closing updates: it began after that (its timestamp says), so its close was this reader's — written,
 * or counted as throttled or lost — and its end is not written again. The table of closed ids is the
 * fast answer; this one holds for any number of connections (at thousands a second the table's slots are
 * reused long before the entries' DESTROY, 120 s later, which then wrote every end twice). A connection
 * older than the reader may have closed before it: written, as before (a second end at worst, never none).
 */
static int closed_while_reading(const struct nf_conntrack *ct) {
  if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_TCP || nfct_attr_is_set(ct, ATTR_TCP_STATE) <= 0) return 0;
  uint8_t state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
  if (state != TCP_CONNTRACK_TIME_WAIT && state != TCP_CONNTRACK_CLOSE) return 0;
  uint64_t start = u64_or_0(ct, ATTR_TIMESTAMP_START);
  return reading_since_ns != 0 && start >= reading_since_ns;
}

static int on_ct(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data) {
  (void)data;
  int family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  if (family != AF_INET && family != AF_INET6) return NFCT_CB_CONTINUE;
  uint32_t id = nfct_attr_is_set(ct, ATTR_ID) > 0 ? nfct_get_attr_u32(ct, ATTR_ID) : 0;
  if (type == NFCT_T_NEW) {
    if (ct_take()) print_ct("n", ct, NULL);
  } else if (type == NFCT_T_DESTROY) {
    uint32_t *slot = ended_slot(id);
    if (id != 0 && *slot == id) *slot = 0;
    else if (closed_while_reading(ct)) return NFCT_CB_CONTINUE;
    else if (ct_take()) print_ct("d", ct, NULL);
  }
  return NFCT_CB_CONTINUE;
}

/*
 * Closing connections wait for the end of the round, then their counters and start times (update events
 * carry neither) are read with one GET each, sent together: a buffer of GET requests in one send(), their
 * answers taken in batches (recvmmsg), instead of a round trip per connection.
 */
#define CLOSE_CHUNK 256
#define MAX_CLOSING 4096
static int query_fd = -1;
static uint32_t query_seq = 1;
static struct nf_conntrack *closing[MAX_CLOSING];
static int closing_n = 0;

static void flush_closing(void);

static int on_ct_update(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data) {
  (void)data;
  if (type != NFCT_T_UPDATE || nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_TCP) return NFCT_CB_CONTINUE;
  if (nfct_attr_is_set(ct, ATTR_TCP_STATE) <= 0) return NFCT_CB_CONTINUE;
  uint8_t state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
  if (state != TCP_CONNTRACK_TIME_WAIT && state != TCP_CONNTRACK_CLOSE) return NFCT_CB_CONTINUE;
  int family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  if (family != AF_INET && family != AF_INET6) return NFCT_CB_CONTINUE;
  uint32_t id = nfct_attr_is_set(ct, ATTR_ID) > 0 ? nfct_get_attr_u32(ct, ATTR_ID) : 0;
  uint32_t *slot = ended_slot(id);
  if (id != 0 && *slot == id) return NFCT_CB_CONTINUE; // TIME_WAIT then CLOSE (a reset in TIME_WAIT): ended once
  if (!ct_take()) return NFCT_CB_CONTINUE;
  if (id != 0) *slot = id;
  if (closing_n == MAX_CLOSING) flush_closing();
  struct nf_conntrack *kept = nfct_clone(ct);
  if (kept) closing[closing_n++] = kept;
  else print_ct("c", ct, NULL);
  return NFCT_CB_CONTINUE;
}

/* Message type of a conntrack netlink message, as libnetfilter_conntrack tells them apart. */
static enum nf_conntrack_msg_type message_type(const struct nlmsghdr *nlh) {
  uint8_t type = nlh->nlmsg_type & 0xff;
  if (type == IPCTNL_MSG_CT_NEW) return (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? NFCT_T_NEW : NFCT_T_UPDATE;
  if (type == IPCTNL_MSG_CT_DELETE) return NFCT_T_DESTROY;
  return NFCT_T_UNKNOWN;
}

#define RECV_BATCH 32
#define RECV_SIZE 8192
static char recv_buffers[RECV_BATCH][RECV_SIZE];

/*
 * Reads what is queued on a netlink socket, RECV_BATCH messages per system call, and hands each
 * conntrack message to `handle` (answers to GETs: `answer`). Returns -1 when the socket overflowed
 * (ENOBUFS: the kernel dropped messages), 0 when it is empty.
 */
static int drain(int fd, void (*handle)(const struct nlmsghdr *nlh)) {
  struct mmsghdr messages[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  for (;;) {
    memset(messages, 0, sizeof messages);
    for (int i = 0; i < RECV_BATCH; i++) {
      iov[i].iov_base = recv_buffers[i];
      iov[i].iov_len = RECV_SIZE;
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, messages, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == ENOBUFS ? -1 : 0;
    }
    for (int i = 0; i < n; i++) {
      // Walked by hand (NLMSG_OK mixes signed and unsigned lengths).
      size_t left = messages[i].msg_len;
      const char *at = recv_buffers[i];
      while (left >= NLMSG_HDRLEN) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)at;
        if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > left) break;
        handle(nlh);
        size_t step = NLMSG_ALIGN(nlh->nlmsg_len);
        if (step >= left) break;
        at += step;
        left -= step;
      }
    }
    if (n < RECV_BATCH) return 0;
  }
}

static void handle_event(const struct nlmsghdr *nlh) {
  enum nf_conntrack_msg_type type = message_type(nlh);
  if (type == NFCT_T_UNKNOWN) return;
  struct nf_conntrack *ct = nfct_new();
  if (!ct) return;
  if (nfct_nlmsg_parse(nlh, ct) >= 0) {
    if (type == NFCT_T_UPDATE) on_ct_update(type, ct, NULL);
    else on_ct(type, ct, NULL);
  }
  nfct_destroy(ct);
}

/* The answers of one chunk of GETs: the entry read back (NULL: gone meanwhile, or no answer). */
static struct nf_conntrack *answers[CLOSE_CHUNK];
static uint32_t chunk_seq;
static int chunk_size, chunk_answered;

static void handle_answer(const struct nlmsghdr *nlh) {
  uint32_t index = nlh->nlmsg_seq - chunk_seq;
  if (index >= (uint32_t)chunk_size) return;
  chunk_answered++;
  // An error (the entry went meanwhile) leaves no answer; any conntrack message is the entry.
  if (nlh->nlmsg_type < NLMSG_MIN_TYPE || answers[index]) return;
  struct nf_conntrack *ct = nfct_new();
  if (ct && nfct_nlmsg_parse(nlh, ct) >= 0) answers[index] = ct;
  else if (ct) nfct_destroy(ct);
}

/* One request buffer: CLOSE_CHUNK GETs of an original tuple (and zone) each, far below this. */
static char request[CLOSE_CHUNK * 512];

static void flush_chunk(struct nf_conntrack **cts, int count) {
  size_t used = 0;
  chunk_seq = query_seq;
  query_seq += (uint32_t)count;
  chunk_size = count;
  chunk_answered = 0;
  memset(answers, 0, sizeof answers);
  int sent = 0;
  if (query_fd >= 0) {
    struct nf_conntrack *tuple = nfct_new();
    for (int i = 0; tuple && i < count; i++) {
      struct nlmsghdr *nlh = (struct nlmsghdr *)(request + used);
      memset(nlh, 0, NLMSG_HDRLEN + sizeof(struct nfgenmsg));
      nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
      nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
      // No NLM_F_ACK: each GET is answered by its entry, or by an error when the entry is gone.
      nlh->nlmsg_flags = NLM_F_REQUEST;
      nlh->nlmsg_seq = chunk_seq + (uint32_t)i;
      struct nfgenmsg *g = NLMSG_DATA(nlh);
      g->nfgen_family = nfct_get_attr_u8(cts[i], ATTR_ORIG_L3PROTO);
      g->version = NFNETLINK_V0;
      // Only the original tuple (and zone): what the kernel looks the entry up by.
      nfct_copy(tuple, cts[i], NFCT_CP_ORIG);
      if (nfct_attr_is_set(cts[i], ATTR_ZONE) > 0) nfct_set_attr_u16(tuple, ATTR_ZONE, nfct_get_attr_u16(cts[i], ATTR_ZONE));
      nfct_nlmsg_build(nlh, tuple);
      used += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    if (tuple) nfct_destroy(tuple);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    sent = sendto(query_fd, request, used, 0, (struct sockaddr *)&kernel, sizeof kernel) == (ssize_t)used;
  }
  // The kernel answers within the send (same process context): the answers are queued already; a
  // short wait covers anything else.
  for (int round = 0; sent && chunk_answered < count && round < 20; round++) {
    drain(query_fd, handle_answer);
    if (chunk_answered < count) {
      struct pollfd p = {.fd = query_fd, .events = POLLIN};
      poll(&p, 1, 5);
    }
  }
  for (int i = 0; i < count; i++) {
    print_ct("c", cts[i], answers[i]);
    if (answers[i]) nfct_destroy(answers[i]);
    answers[i] = NULL;
  }
}

static void flush_closing(void) {
  for (int at = 0; at < closing_n; at += CLOSE_CHUNK) flush_chunk(closing + at, closing_n - at < CLOSE_CHUNK ? closing_n - at : CLOSE_CHUNK);
  for (int i = 0; i < closing_n; i++) nfct_destroy(closing[i]);
  closing_n = 0;
}

/* Only TCP entries reaching TIME_WAIT or CLOSE wake the reader (a short connection makes ~6 updates). */
static void filter_updates(int fd) {
  struct nfct_filter *filter = nfct_filter_create();
  if (!filter) return;
  nfct_filter_add_attr_u32(filter, NFCT_FILTER_L4PROTO, IPPROTO_TCP);
  struct nfct_filter_proto state = {.proto = IPPROTO_TCP, .state = TCP_CONNTRACK_TIME_WAIT};
  nfct_filter_add_attr(filter, NFCT_FILTER_L4PROTO_STATE, &state);
  state.state = TCP_CONNTRACK_CLOSE;
  nfct_filter_add_attr(filter, NFCT_FILTER_L4PROTO_STATE, &state);
  if (nfct_filter_attach(fd, filter) < 0) perror("tenet-flowd: nfct_filter_attach (updates read unfiltered)");
  nfct_filter_destroy(filter);
}

/* Counters and timestamps of connections made from now on (the sysctls are per namespace). */
static void enable_sysctl(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/net/netfilter/%s", name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1) fprintf(stderr, "tenet-flowd: cannot enable %s: %s\n", name, strerror(errno));
  if (fd >= 0) close(fd);
}

static void lost_ct(void) {
  printf("{\"t\":\"lost\",\"src\":\"ct\",\"n\":1,\"ts\":%" PRIu64 "}\n", now_ms());
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: tenet-flowd NFLOG_GROUP [CT_RATE CT_BURST] (CT_RATE 0: no limit)\n");
    return 2;
  }
  if (argc == 4) {
    char *rest = NULL, *rest2 = NULL;
    long rate = strtol(argv[2], &rest, 10), burst = strtol(argv[3], &rest2, 10);
    // Rate 0: no limit (every event written; the burst is then not used). Otherwise both from 1.
    if (!rest || *rest || !rest2 || *rest2 || rate < 0 || rate > 1000000 || burst < 0 || burst > 1000000 || (rate > 0 && burst < 1)) {
      fprintf(stderr, "tenet-flowd: bad rate %s or burst %s (rate 0: no limit; else rate and burst from 1 to 1000000)\n", argv[2], argv[3]);
      return 2;
    }
    ct_rate = (double)rate;
    ct_burst = (double)burst;
    ct_tokens = ct_burst;
    ct_at_ms = now_ms();
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
  if (nflog_set_flags(gh, NFULNL_CFG_F_SEQ) < 0) perror("tenet-flowd: nflog_set_flags");
  // The kernel batches logged packets for up to 1 s by default: a record should reach the agent sooner.
  if (nflog_set_timeout(gh, 10) < 0) perror("tenet-flowd: nflog_set_timeout");
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
  nfnl_rcvbufsiz(nfct_nfnlh(ct), 4 << 20);
  int ct_fd = nfct_fd(ct);
  fcntl(ct_fd, F_SETFL, fcntl(ct_fd, F_GETFL) | O_NONBLOCK);
  // Closing TCP connections: their own socket, filtered in the kernel, and a handle for the GET of each.
  struct nfct_handle *updates = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_UPDATE);
  if (!updates) {
    perror("tenet-flowd: nfct_open (updates)");
    return 1;
  }
  filter_updates(nfct_fd(updates));
  {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    reading_since_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
  }
  nfnl_rcvbufsiz(nfct_nfnlh(updates), 4 << 20);
  int up_fd = nfct_fd(updates);
  fcntl(up_fd, F_SETFL, fcntl(up_fd, F_GETFL) | O_NONBLOCK);
  struct nfct_handle *query = nfct_open(CONNTRACK, 0);
  if (query) {
    // Room for the answers of a whole chunk of GETs.
    nfnl_rcvbufsiz(nfct_nfnlh(query), 4 << 20);
    query_fd = nfct_fd(query);
  } else perror("tenet-flowd: nfct_open (queries: closes without counters)");
  printf("{\"t\":\"ready\",\"ts\":%" PRIu64 "}\n", now_ms());
  fflush(stdout);

  static char buffer[1 << 16];
  struct pollfd fds[4] = {
      {.fd = log_fd, .events = POLLIN}, {.fd = ct_fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}, {.fd = up_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 4, -1) < 0) {
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
        // Overflow: the sequence gap at the next packet says how many (exactly).
        if (n < 0 && errno == ENOBUFS) continue;
        break;
      }
    }
    // Each reads until its socket is empty, or it overflowed (ENOBUFS: one lost line, then on).
    if (fds[1].revents & POLLIN) {
      while (drain(ct_fd, handle_event) < 0) lost_ct();
    }
    if (fds[3].revents & POLLIN) {
      while (drain(up_fd, handle_event) < 0) lost_ct();
    }
    if (closing_n > 0) flush_closing();
    if (ct_throttled > 0) {
      printf("{\"t\":\"throttled\",\"n\":%" PRIu64 ",\"ts\":%" PRIu64 "}\n", ct_throttled, now_ms());
      ct_throttled = 0;
    }
    fflush(stdout);
    // Let events queue in the socket buffers for a moment: one wake-up per batch, not per event.
    usleep(BATCH_MS * 1000);
  }
}
