/*
 * Test module "napper" for the hang watchdog: "hang" never returns, "sleep N" answers after N ms, anything else at
 * once. The config "delay N" makes every call take N ms first (a version that is slow but healthy). HP_VERSION is
 * set with -D, so one source gives every version a test needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hotplane_module.h"

static long delay_ms;

static void nap(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0) {
  }
}

uint32_t hp_abi_version(void) { return HP_ABI_VERSION; }
const char *hp_module_name(void) { return "napper"; }
const char *hp_module_version(void) { return HP_VERSION; }

int32_t hp_init(const char *config, size_t config_len) {
  char text[64] = {0};
  if (config_len >= sizeof text) return HP_FAULT;
  if (config_len > 0) memcpy(text, config, config_len);
  delay_ms = strncmp(text, "delay ", 6) == 0 ? atol(text + 6) : 0;
  return HP_OK;
}

int32_t hp_handle(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap, size_t *resp_len) {
  char text[64] = {0};
  if (req_len > 0) memcpy(text, req, req_len < sizeof text - 1 ? req_len : sizeof text - 1);
  if (delay_ms > 0) nap(delay_ms);
  if (strcmp(text, "hang") == 0) {
    for (;;) nap(1000);
  }
  if (strncmp(text, "sleep ", 6) == 0) nap(atol(text + 6));
  int n = snprintf((char *)resp, resp_cap, "ok %s", HP_VERSION);
  *resp_len = n < 0 ? 0 : (size_t)n < resp_cap ? (size_t)n : resp_cap;
  return HP_OK;
}

int32_t hp_health(void) { return HP_OK; }

int32_t hp_self_test(char *report, size_t report_cap) {
  snprintf(report, report_cap, "napper %s ok", HP_VERSION);
  return HP_OK;
}

void hp_shutdown(void) {}
