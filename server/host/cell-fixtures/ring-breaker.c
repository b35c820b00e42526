/* A module for the cell channel's tests (cell-channel.test.ts). "echo" answers with the request itself (so large
 * bodies travel both ways), and hp_state_export/import keep the last echoed bytes. The other requests are a hostile
 * module attacking the host through the shared memory of its cell (cell-ring.ts): it finds the mapping in
 * /proc/self/maps, writes what it was told into the control words or the reply ring, rings the host's doorbell
 * (fd 6) so the host looks at once, and sleeps so nothing of its own cell repairs the damage meanwhile. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hotplane_module.h"

#define HEADER_BYTES 4096u
#define CAPACITY (1u << 20)
#define REQUEST_HEAD_WORD 16
#define REPLY_TAIL_WORD 32
#define REPLY_HEAD_WORD 48
#define HOST_DOORBELL_FD 6
#define CHANNEL_FD 7

static uint8_t *kept;
static size_t kept_len;

uint32_t hp_abi_version(void) { return HP_ABI_VERSION; }
const char *hp_module_name(void) { return "ring-breaker"; }
const char *hp_module_version(void) { return "1.0.0"; }
int32_t hp_init(const char *config, size_t config_len) { (void)config; (void)config_len; return HP_OK; }
int32_t hp_health(void) { return HP_OK; }
int32_t hp_self_test(char *report, size_t cap) { snprintf(report, cap, "ok"); return HP_OK; }
void hp_shutdown(void) { free(kept); }

static volatile uint32_t *channel(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  unsigned long start = 0;
  while (maps && fgets(line, sizeof line, maps)) {
    if (strstr(line, "memfd:hotplane-cell")) { sscanf(line, "%lx-", &start); break; }
  }
  if (maps) fclose(maps);
  return (volatile uint32_t *)start;
}

static int32_t attack(const char *how) {
  volatile uint32_t *words = channel();
  if (!words) return 500;
  uint8_t *replies = (uint8_t *)words + HEADER_BYTES + CAPACITY;
  uint32_t head = words[REPLY_HEAD_WORD];
  if (strcmp(how, "tail") == 0) {
    words[REPLY_TAIL_WORD] = head + 3 * CAPACITY;
  } else if (strcmp(how, "length") == 0) {
    uint32_t tail = words[REPLY_TAIL_WORD];
    uint32_t bogus = 0xfffffff0u;
    memcpy(replies + (tail & (CAPACITY - 1)), &bogus, 4);
    words[REPLY_TAIL_WORD] = tail + 16;
  } else if (strcmp(how, "padding") == 0) {
    uint32_t tail = words[REPLY_TAIL_WORD];
    uint32_t zero = 0;
    memcpy(replies + (tail & (CAPACITY - 1)), &zero, 4);
    words[REPLY_TAIL_WORD] = tail + 4;
  } else if (strcmp(how, "head") == 0) {
    words[REQUEST_HEAD_WORD] += 5 * CAPACITY;
  } else {
    return 400;
  }
  (void)!write(HOST_DOORBELL_FD, "x", 1);
  sleep(5);
  return HP_OK;
}

int32_t hp_handle(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap, size_t *resp_len) {
  char command[32] = {0};
  memcpy(command, req, req_len < sizeof command - 1 ? req_len : sizeof command - 1);
  *resp_len = 0;
  if (strncmp(command, "attack ", 7) == 0) return attack(command + 7);
  if (strcmp(command, "truncate") == 0) {
    /* The memfd is sealed: resizing it must fail, or the host's next read of the mapping would be a SIGBUS. */
    char target[64] = {0};
    if (readlink("/proc/self/fd/7", target, sizeof target - 1) < 0 || !strstr(target, "memfd:hotplane-cell")) return 2;
    int shrunk = ftruncate(CHANNEL_FD, 0) == 0;
    int grown = ftruncate(CHANNEL_FD, 64u << 20) == 0;
    return shrunk || grown ? 1 : HP_OK;
  }
  if (req_len > resp_cap) { *resp_len = req_len; return HP_BUFFER_TOO_SMALL; }
  memcpy(resp, req, req_len);
  *resp_len = req_len;
  uint8_t *copy = realloc(kept, req_len ? req_len : 1);
  if (!copy) return HP_FAULT;
  memcpy(copy, req, req_len);
  kept = copy;
  kept_len = req_len;
  return HP_OK;
}

int32_t hp_state_export(uint8_t *buf, size_t cap, size_t *len) {
  *len = kept_len;
  if (kept_len > cap) return HP_BUFFER_TOO_SMALL;
  memcpy(buf, kept, kept_len);
  return HP_OK;
}

int32_t hp_state_import(const uint8_t *buf, size_t len) {
  uint8_t *copy = realloc(kept, len ? len : 1);
  if (!copy) return HP_FAULT;
  memcpy(copy, buf, len);
  kept = copy;
  kept_len = len;
  return HP_OK;
}
