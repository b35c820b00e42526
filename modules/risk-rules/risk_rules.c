/*
 * risk-rules: stateless scoring of one payment against a rule table compiled into the module.
 *
 * Request: "key=value" pairs separated by ';', e.g. "amount=1250000;country=KP;mcc=7995;hour=3".
 *   amount   minor units, required          country  ISO 3166 alpha-2
 *   mcc      merchant category code          hour     0..23, local hour of the payment
 * Unknown keys are ignored, so callers may send more than this version reads.
 * Answer: "score=<0..100>;decision=<approve|review|decline>;rules=<matched ids, comma-separated>" (rules may be
 * empty). Score below 40 approves, below 70 reviews, anything else declines; a decline is still HP_OK, since
 * scoring worked. Application code 1: bad request (the answer says which field).
 *
 * Build flags: HP_VERSION ("1.0.0"), HP_MODULE_NAME ("risk-rules") and the fault flags of faults.h.
 */
#include <stdio.h>
#include <string.h>

#include "hotplane_module.h"
#include "faults.h"

#ifndef HP_MODULE_NAME
#define HP_MODULE_NAME "risk-rules"
#endif
#ifndef HP_VERSION
#define HP_VERSION "1.0.0"
#endif

#define RISK_BAD_REQUEST 1
#define FIELD_ABSENT (-1)

struct payment {
  long long amount;
  char country[3];
  int mcc, hour;
};

struct rule {
  const char *id;
  int points;
  int (*matches)(const struct payment *);
};

static int amount_large(const struct payment *p) { return p->amount >= 500000; }
static int amount_very_large(const struct payment *p) { return p->amount >= 5000000; }
static int amount_round(const struct payment *p) { return p->amount >= 100000 && p->amount % 100000 == 0; }
static int night_hour(const struct payment *p) { return p->hour >= 0 && p->hour < 6; }

/* Gambling, quasi-cash, money transfer, betting and telemarketing: categories with high fraud rates. */
static int mcc_high_risk(const struct payment *p) {
  static const int codes[] = {7995, 6051, 4829, 7801, 7802, 5967, 5966};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (p->mcc == codes[i]) return 1;
  return 0;
}

static int country_sanctioned(const struct payment *p) {
  static const char *const codes[] = {"KP", "IR", "SY", "CU"};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (strcmp(p->country, codes[i]) == 0) return 1;
  return 0;
}

static const struct rule rules[] = {
    {"amount_large", 25, amount_large},
    {"amount_very_large", 20, amount_very_large},
    {"amount_round", 10, amount_round},
    {"night_hour", 15, night_hour},
    {"mcc_high_risk", 30, mcc_high_risk},
    {"country_sanctioned", 70, country_sanctioned},
};

static int parse_number(const char *text, size_t len, long long max, long long *out) {
  if (len == 0 || len > 18) return 0;
  long long value = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] < '0' || text[i] > '9') return 0;
    value = value * 10 + (text[i] - '0');
  }
  if (value > max) return 0;
  *out = value;
  return 1;
}

static int field_is(const char *key, size_t key_len, const char *name) {
  return strlen(name) == key_len && memcmp(key, name, key_len) == 0;
}

/* Returns NULL on success, or the name of the field that is missing or malformed. */
static const char *parse_payment(const char *text, size_t len, struct payment *p) {
  *p = (struct payment){FIELD_ABSENT, "", FIELD_ABSENT, FIELD_ABSENT};
  while (len > 0) {
    const char *end = memchr(text, ';', len);
    size_t segment_len = end ? (size_t)(end - text) : len, pair_len = segment_len;
    while (pair_len > 0 && (text[pair_len - 1] == '\n' || text[pair_len - 1] == '\r' || text[pair_len - 1] == ' '))
      pair_len--;
    const char *eq = memchr(text, '=', pair_len);
    if (pair_len > 0 && !eq) return "pair without '='";
    if (eq) {
      size_t key_len = (size_t)(eq - text), value_len = pair_len - key_len - 1;
      const char *value = eq + 1;
      long long number;
      if (field_is(text, key_len, "amount")) {
        if (!parse_number(value, value_len, 999999999999999LL, &p->amount)) return "amount";
      } else if (field_is(text, key_len, "country")) {
        if (value_len != 2) return "country";
        memcpy(p->country, value, 2);
      } else if (field_is(text, key_len, "mcc")) {
        if (!parse_number(value, value_len, 9999, &number)) return "mcc";
        p->mcc = (int)number;
      } else if (field_is(text, key_len, "hour")) {
        if (!parse_number(value, value_len, 23, &number)) return "hour";
        p->hour = (int)number;
      }
    }
    size_t consumed = end ? segment_len + 1 : len;
    text += consumed;
    len -= consumed;
  }
  return p->amount == FIELD_ABSENT ? "amount" : NULL;
}

/* snprintf-style: returns the length of the full answer even when it did not fit. */
static size_t score_payment(const struct payment *p, char *out, size_t cap) {
  char matched[256] = "";
  size_t used = 0;
  int score = 0;
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    if (!rules[i].matches(p)) continue;
    score += rules[i].points;
    used += (size_t)snprintf(matched + used, sizeof matched - used, "%s%s", used ? "," : "", rules[i].id);
  }
  score += 5 * HP_FAULT_LOGIC_DEFECT;
  if (score > 100) score = 100;
  const char *decision = score < 40 ? "approve" : score < 70 ? "review" : "decline";
  return (size_t)snprintf(out, cap, "score=%d;decision=%s;rules=%s", score, decision, matched);
}

uint32_t hp_abi_version(void) { return HP_REPORTED_ABI_VERSION; }

const char *hp_module_name(void) { return HP_MODULE_NAME; }

const char *hp_module_version(void) { return HP_VERSION; }

int32_t hp_init(const char *config, size_t config_len) {
  (void)config;
  (void)config_len;
  hp_fault_on_init();
  return HP_OK;
}

int32_t hp_handle(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap, size_t *resp_len) {
  int32_t fault = hp_fault_before_handle();
  if (fault != HP_OK) return fault;
  char text[320];
  struct payment p;
  const char *bad_field = parse_payment((const char *)req, req_len, &p);
  int32_t code = bad_field ? RISK_BAD_REQUEST : HP_OK;
  size_t len = bad_field ? (size_t)snprintf(text, sizeof text, "bad request: %s", bad_field)
                         : score_payment(&p, text, sizeof text);
  *resp_len = len;
  if (len > resp_cap) return HP_BUFFER_TOO_SMALL;
  memcpy(resp, text, len);
  return code;
}

int32_t hp_health(void) { return HP_OK; }

int32_t hp_self_test(char *report, size_t report_cap) {
  static const struct {
    const char *request, *expected;
  } cases[] = {
      {"amount=1500;country=CN;mcc=5411;hour=14", "score=0;decision=approve;rules="},
      {"amount=600000;country=DE;mcc=5411;hour=3",
       "score=50;decision=review;rules=amount_large,amount_round,night_hour"},
      {"amount=120;country=KP;mcc=7995;hour=12", "score=100;decision=decline;rules=mcc_high_risk,country_sanctioned"},
  };
  size_t ncases = sizeof cases / sizeof cases[0], passed = 0, used = 0;
  char answer[320];
  struct payment p;
  if (report_cap > 0) report[0] = '\0';
  for (size_t i = 0; i < ncases; i++) {
    int ok = parse_payment(cases[i].request, strlen(cases[i].request), &p) == NULL &&
             score_payment(&p, answer, sizeof answer) < sizeof answer && strcmp(answer, cases[i].expected) == 0;
    passed += (size_t)ok;
    if (used < report_cap)
      used += (size_t)snprintf(report + used, report_cap - used, "%s %s\n", ok ? "ok  " : "FAIL", cases[i].request);
  }
  if (used < report_cap)
    snprintf(report + used, report_cap - used, "%s %s self-test: %s (%zu of %zu cases)\n", HP_MODULE_NAME, HP_VERSION,
             passed == ncases ? "PASS" : "FAIL", passed, ncases);
  return passed == ncases ? HP_OK : 1;
}

void hp_shutdown(void) {}
