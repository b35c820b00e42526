/*
 * snoop: a signed-but-hostile module, for the sandbox tests (server/host/sandbox.test.ts). It behaves like a
 * module that wants the console's secrets: it tries to read every path it is told about and every file it can
 * find, its environment and PID 1's, and to connect to the console, and answers with what it got.
 *
 * hp_init config: one target per line, a path ("/data/auth-secret") or "tcp:<ipv4>:<port>".
 * Request "probe" (and hp_self_test, into its report): the targets, identity and environment. Request "walk": also every file it can open outside
 * the system folders (/usr, /lib, /lib64, /proc, /sys, /dev), up to a cap.
 * Answer, one finding per line:
 *   uid <uid> euid <euid>             nonewprivs <0|1>
 *   env <NAME>                        (one per variable of its own environment)
 *   read <path> <bytes>               denied <path> <errno text>
 *   connected <ip:port>               unreachable <ip:port> <errno text>
 *   visible <path>                    (walk only: a file it could open)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotplane_module.h"

#define MAX_CONFIG 8192
#define MAX_WALK_FILES 400
#define MAX_WALK_DEPTH 12

static char targets[MAX_CONFIG];

struct report {
  uint8_t *buf;
  size_t cap, len;
};

static void say(struct report *r, const char *format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  if (r->len + (size_t)n + 1 > r->cap) return;
  memcpy(r->buf + r->len, line, (size_t)n);
  r->len += (size_t)n;
  r->buf[r->len++] = '\n';
}

static void try_read(struct report *r, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say(r, "denied %s %s", path, strerror(errno));
    return;
  }
  char chunk[4096];
  ssize_t got, total = 0;
  while ((got = read(fd, chunk, sizeof chunk)) > 0) total += got;
  close(fd);
  if (got < 0) say(r, "denied %s %s", path, strerror(errno));
  else say(r, "read %s %zd", path, total);
}

static void try_connect(struct report *r, const char *target) {
  char ip[64];
  int port;
  if (sscanf(target, "tcp:%63[^:]:%d", ip, &port) != 2) return;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &address.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) == 0) say(r, "connected %s:%d", ip, port);
  else say(r, "unreachable %s:%d %s", ip, port, strerror(errno));
  if (fd >= 0) close(fd);
}

static void self_status(struct report *r) {
  say(r, "uid %u euid %u", (unsigned)getuid(), (unsigned)geteuid());
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  while (status && fgets(line, sizeof line, status)) {
    int value;
    if (sscanf(line, "NoNewPrivs: %d", &value) == 1) say(r, "nonewprivs %d", value);
  }
  if (status) fclose(status);
  /* Its environment as the kernel has it: libc's `environ` is not this process's under RTLD_DEEPBIND. */
  char block[65536];
  int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd < 0 ? 0 : read(fd, block, sizeof block - 1);
  if (fd >= 0) close(fd);
  for (ssize_t at = 0; got > 0 && at < got; at += (ssize_t)strlen(block + at) + 1) {
    block[got] = '\0';
    if (block[at]) say(r, "env %.*s", (int)strcspn(block + at, "="), block + at);
  }
}

static int is_system(const char *path) {
  static const char *const skipped[] = {"/usr", "/lib", "/lib64", "/proc", "/sys", "/dev"};
  for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
    if (strcmp(path, skipped[i]) == 0) return 1;
  return 0;
}

static void walk(struct report *r, const char *dir, int depth, int *files) {
  DIR *d = opendir(dir);
  if (!d || depth > MAX_WALK_DEPTH) {
    if (d) closedir(d);
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(d)) && *files < MAX_WALK_FILES) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, entry->d_name);
    struct stat info;
    if (lstat(path, &info) != 0 || is_system(path)) continue;
    if (S_ISDIR(info.st_mode)) {
      walk(r, path, depth + 1, files);
    } else if (S_ISREG(info.st_mode)) {
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        close(fd);
        say(r, "visible %s", path);
        (*files)++;
      }
    }
  }
  closedir(d);
}

HP_EXPORT uint32_t hp_abi_version(void) { return HP_ABI_VERSION; }
HP_EXPORT const char *hp_module_name(void) { return "snoop"; }
HP_EXPORT const char *hp_module_version(void) { return "1.0.0"; }

HP_EXPORT int32_t hp_init(const char *config, size_t config_len) {
  if (config_len >= sizeof targets) return HP_FAULT;
  memcpy(targets, config, config_len);
  targets[config_len] = '\0';
  return HP_OK;
}

static void probe(struct report *r) {
  self_status(r);
  try_read(r, "/proc/1/environ");
  try_read(r, "/proc/self/environ");
  char copy[MAX_CONFIG];
  memcpy(copy, targets, sizeof copy);
  for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "tcp:", 4) == 0) try_connect(r, line);
    else try_read(r, line);
  }
}

HP_EXPORT int32_t hp_handle(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap, size_t *resp_len) {
  struct report r = {resp, resp_cap, 0};
  probe(&r);
  if (req_len == 4 && memcmp(req, "walk", 4) == 0) {
    int files = 0;
    walk(&r, "/", 0, &files);
  }
  *resp_len = r.len;
  return HP_OK;
}

HP_EXPORT int32_t hp_health(void) { return HP_OK; }

/* A probe that only runs the self-test (the preflight and upload probes) gets the same findings as its report. */
HP_EXPORT int32_t hp_self_test(char *report, size_t report_cap) {
  struct report r = {(uint8_t *)report, report_cap - 1, 0};
  probe(&r);
  report[r.len] = '\0';
  return HP_OK;
}

HP_EXPORT void hp_shutdown(void) {}
