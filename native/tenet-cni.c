/*
 * tenet-cni: the CNI plugin executable container runtimes run for every ADD/DEL/CHECK/...
 *
 * Why C and not TypeScript: a runtime starts this program once per CNI call, and Node.js alone
 * needs ~29 ms to start on our machines -- more than a whole reference bridge+host-local ADD
 * (~12 ms, RECIPES.md). This shim starts in well under a millisecond and does no CNI logic:
 * it carries the CNI_* environment (and podman's CONTAINERS_CONF / CONTAINERS_STORAGE_CONF) and stdin
 * to the long-running agent over its unix socket
 * (POST /v1/cni, see src/cni/wire.ts), prints the agent's answer and exits with its code.
 * Everything else (parsing, validation, versions, results, errors) is in the TypeScript of src/cni.
 *
 * The only things decided here: VERSION is answered locally (it must work without an agent);
 * a configuration that is not a JSON object is error 6 and an unusable "agentSocket" error 7,
 * both permanent and answered before any connection (without them the shim cannot even find
 * its agent, and "try again later" would make a runtime retry a request that can never work);
 * an unreachable agent becomes CNI error 11 "try again later" (50 for STATUS).
 * The agent socket is the top-level "agentSocket" of the configuration, else /run/tenet/agent.sock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/tenet/agent.sock"
#define SUPPORTED "[\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define MAX_STDIN (1 << 20)
#define MAX_REPLY (8 << 20)
#define TIMEOUT_SECONDS 300

/* CONTAINERS_*: podman's configuration, which says where it keeps the container's labels (src/cni/podman.ts). */
static const char *const ENV_NAMES[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF"};

struct buf {
  char *data;
  size_t len, cap;
};

static void put(struct buf *b, const char *data, size_t len) {
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *next = realloc(b->data, cap);
    if (!next) {
      fputs("tenet-cni: out of memory\n", stderr);
      exit(1);
    }
    b->data = next;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

static void puts_buf(struct buf *b, const char *text) { put(b, text, strlen(text)); }

/* Copies a JSON string value into out (no escapes allowed: the values we read never need them). */
static int read_plain_string(const char *p, const char *end, char *out, size_t cap) {
  size_t n = 0;
  for (; p < end && *p != '"'; p++) {
    if (*p == '\\' || (unsigned char)*p < 0x20 || n + 1 >= cap) return -1;
    out[n++] = *p;
  }
  if (p >= end) return -1;
  out[n] = '\0';
  return 0;
}

/*
 * A strict RFC 8259 validator (structure, strings, escapes, numbers, literals; bytes above
 * 0x7f are taken as they come, as the agent's decoder does). Nesting is bounded so hostile
 * input cannot exhaust the stack.
 */
#define MAX_DEPTH 512
struct cursor {
  const char *p, *end;
};

static void skip_ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) c->p++;
}

static int is_hex(char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int json_string(struct cursor *c) {
  if (c->p >= c->end || *c->p != '"') return -1;
  c->p++;
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') {
      c->p++;
      return 0;
    }
    if (ch < 0x20) return -1;
    if (ch == '\\') {
      if (++c->p >= c->end) return -1;
      char e = *c->p;
      if (e == 'u') {
        for (int i = 1; i <= 4; i++)
          if (c->p + i >= c->end || !is_hex(c->p[i])) return -1;
        c->p += 4;
      } else if (!strchr("\"\\/bfnrt", e) || e == '\0') return -1;
    }
    c->p++;
  }
  return -1;
}

static int json_number(struct cursor *c) {
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p >= c->end || !is_digit(*c->p)) return -1;
  if (*c->p == '0') c->p++;
  else
    while (c->p < c->end && is_digit(*c->p)) c->p++;
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (c->p >= c->end || !is_digit(*c->p)) return -1;
    while (c->p < c->end && is_digit(*c->p)) c->p++;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (c->p >= c->end || !is_digit(*c->p)) return -1;
    while (c->p < c->end && is_digit(*c->p)) c->p++;
  }
  return 0;
}

static int json_value(struct cursor *c, int depth) {
  skip_ws(c);
  if (c->p >= c->end) return -1;
  char ch = *c->p;
  if (ch == '"') return json_string(c);
  if (ch == '{' || ch == '[') {
    if (depth >= MAX_DEPTH) return -1;
    char close = ch == '{' ? '}' : ']';
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
      c->p++;
      return 0;
    }
    for (;;) {
      if (ch == '{') {
        skip_ws(c);
        if (json_string(c) != 0) return -1;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return -1;
        c->p++;
      }
      if (json_value(c, depth + 1) != 0) return -1;
      skip_ws(c);
      if (c->p >= c->end) return -1;
      if (*c->p == close) {
        c->p++;
        return 0;
      }
      if (*c->p != ',') return -1;
      c->p++;
    }
  }
  static const char *const literals[] = {"true", "false", "null"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(literals[i]);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, literals[i], n) == 0) {
      c->p += n;
      return 0;
    }
  }
  return json_number(c);
}

/* 0 when the whole text is one JSON object (surrounding whitespace aside). */
static int json_object_document(const char *json, size_t len) {
  struct cursor c = {json, json + len};
  skip_ws(&c);
  if (c.p >= c.end || *c.p != '{') return -1;
  if (json_value(&c, 0) != 0) return -1;
  skip_ws(&c);
  return c.p == c.end ? 0 : -1;
}

/*
 * Finds a top-level string member of the configuration object without a JSON library:
 * walks the text tracking string state and nesting depth, so a key of the same name inside
 * prevResult or args is never taken. Returns 0 and fills out when found, -1 when the key is
 * absent, -2 when it is present but not a plain string that fits.
 */
static int top_level_string(const char *json, size_t len, const char *key, char *out, size_t cap) {
  const char *p = json, *end = json + len;
  int depth = 0;
  size_t key_len = strlen(key);
  while (p < end) {
    char c = *p;
    if (c == '"') {
      const char *start = ++p;
      while (p < end && *p != '"') p += (*p == '\\') ? 2 : 1;
      if (p >= end) return -1;
      size_t n = (size_t)(p - start);
      p++;
      if (depth == 1 && n == key_len && memcmp(start, key, n) == 0) {
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
        if (q < end && *q == ':') {
          q++;
          while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
          if (q < end && *q == '"' && read_plain_string(q + 1, end, out, cap) == 0) return 0;
          return -2;
        }
      }
      continue;
    }
    if (c == '{' || c == '[') depth++;
    else if (c == '}' || c == ']') depth--;
    p++;
  }
  return -1;
}

static int safe_version(const char *v) {
  if (!*v || strlen(v) > 32) return 0;
  for (; *v; v++)
    if (!((*v >= '0' && *v <= '9') || *v == '.' || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || *v == '-')) return 0;
  return 1;
}

static void json_escaped(struct buf *b, const char *text) {
  for (; *text; text++) {
    unsigned char c = (unsigned char)*text;
    char tmp[8];
    if (c == '"' || c == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)c;
      put(b, tmp, 2);
    } else if (c < 0x20) {
      snprintf(tmp, sizeof tmp, "\\u%04x", c);
      puts_buf(b, tmp);
    } else put(b, (const char *)&c, 1);
  }
}

static int fail(const char *version, int code, const char *msg, const char *details) {
  struct buf out = {0};
  char head[160];
  snprintf(head, sizeof head, "{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"", version, code);
  puts_buf(&out, head);
  json_escaped(&out, msg);
  puts_buf(&out, "\",\"details\":\"");
  json_escaped(&out, details);
  puts_buf(&out, "\"}\n");
  fwrite(out.data, 1, out.len, stdout);
  return 1;
}

static void percent_encode(struct buf *b, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if (*p > 0x20 && *p < 0x7f && *p != '%') put(b, (const char *)p, 1);
    else {
      char tmp[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      put(b, tmp, 3);
    }
  }
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(void) {
  const char *command = getenv("CNI_COMMAND");
  struct buf in = {0};
  char chunk[65536];
  for (;;) {
    ssize_t n = read(0, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    put(&in, chunk, (size_t)n);
    if (in.len > MAX_STDIN) return fail("1.1.0", 5, "I/O failure", "network configuration larger than 1 MiB");
  }
  if (!in.data) put(&in, "", 0);

  char version[40] = "1.1.0";
  char found[40];
  if (top_level_string(in.data, in.len, "cniVersion", found, sizeof found) == 0 && safe_version(found)) strcpy(version, found);

  if (command && strcmp(command, "VERSION") == 0) {
    printf("{\"cniVersion\":\"%s\",\"supportedVersions\":" SUPPORTED "}\n", version);
    return 0;
  }

  if (json_object_document(in.data, in.len) != 0) return fail(version, 6, "failed to decode network configuration", "stdin is not a JSON object");
  char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int found_socket = top_level_string(in.data, in.len, "agentSocket", socket_path, sizeof socket_path);
  if (found_socket == -1) strcpy(socket_path, DEFAULT_SOCKET);
  else if (found_socket != 0 || socket_path[0] != '/')
    return fail(version, 7, "invalid network configuration", "agentSocket must be an absolute path of at most 107 bytes, without escapes");
  int is_status = command && strcmp(command, "STATUS") == 0;

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    char details[256];
    snprintf(details, sizeof details, "connect %s: %s", socket_path, strerror(errno));
    return is_status ? fail(version, 50, "tenet agent unavailable", details) : fail(version, 11, "tenet agent unreachable, try again later", details);
  }
  struct timeval tv = {.tv_sec = TIMEOUT_SECONDS};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  struct buf req = {0};
  char line[128];
  puts_buf(&req, "POST /v1/cni HTTP/1.1\r\nHost: tenet-agent\r\nConnection: close\r\nContent-Type: application/x-tenet-cni\r\n");
  snprintf(line, sizeof line, "Content-Length: %zu\r\n", in.len);
  puts_buf(&req, line);
  for (size_t i = 0; i < sizeof ENV_NAMES / sizeof ENV_NAMES[0]; i++) {
    const char *value = getenv(ENV_NAMES[i]);
    if (!value) continue;
    /* x-cni-command, x-cni-containerid, x-containers-storage_conf: lower case, the first '_' a '-' (headerName in src/cni/wire.ts) */
    puts_buf(&req, "x-");
    int dashed = 0;
    for (const char *p = ENV_NAMES[i]; *p; p++) {
      char lower = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
      if (lower == '_' && !dashed) {
        lower = '-';
        dashed = 1;
      }
      put(&req, &lower, 1);
    }
    puts_buf(&req, ": ");
    percent_encode(&req, value);
    puts_buf(&req, "\r\n");
  }
  puts_buf(&req, "\r\n");
  put(&req, in.data, in.len);
  if (write_all(fd, req.data, req.len) != 0) {
    char details[256];
    snprintf(details, sizeof details, "write to %s: %s", socket_path, strerror(errno));
    return fail(version, 11, "tenet agent unreachable, try again later", details);
  }

  struct buf reply = {0};
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      char details[256];
      snprintf(details, sizeof details, "read from %s: %s", socket_path, strerror(errno));
      return fail(version, 11, "tenet agent did not answer, try again later", details);
    }
    if (n == 0) break;
    put(&reply, chunk, (size_t)n);
    if (reply.len > MAX_REPLY) return fail(version, 100, "agent error", "answer too large");
  }
  close(fd);
  if (!reply.data) return fail(version, 11, "tenet agent closed the connection, try again later", socket_path);

  char *body = strstr(reply.data, "\r\n\r\n");
  int status = 0;
  if (!body || sscanf(reply.data, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
    char details[200];
    snprintf(details, sizeof details, "agent at %s answered HTTP %d", socket_path, status);
    return fail(version, 11, "tenet agent cannot serve CNI, try again later", details);
  }
  *body = '\0';
  body += 4;
  int exit_code = -1;
  long content_length = -1;
  for (char *h = strstr(reply.data, "\r\n"); h && *h; h = strstr(h, "\r\n")) {
    h += 2;
    if (strncasecmp(h, "x-cni-exit-code:", 16) == 0) exit_code = atoi(h + 16);
    else if (strncasecmp(h, "content-length:", 15) == 0) content_length = atol(h + 15);
  }
  if (exit_code < 0) return fail(version, 100, "agent error", "the agent's answer has no exit code");
  size_t available = reply.len - (size_t)(body - reply.data);
  size_t length = content_length >= 0 && (size_t)content_length < available ? (size_t)content_length : available;
  fwrite(body, 1, length, stdout);
  return exit_code;
}
