/*
 * ledger: accounts with int64 balances in minor units, the example business module of Hotplane.
 *
 * Requests are one line of text, words separated by spaces, a trailing newline allowed:
 *   open <acct> <amount>              create an account                  -> "opened alice with 1000"
 *   balance <acct>                    read one balance                   -> "alice 1000"
 *   transfer <from> <to> <amount>     move money (amount > 0)            -> "transferred 250 from alice to bob; ..."
 *   total                             sum of all balances                -> "total 1500 in 2 accounts"
 *   dump                              every account, one "<acct> <balance>" line each, in opening order
 * Account names: 1..31 characters of [A-Za-z0-9_.-]. Amounts: decimal, no sign.
 * Application answers (not faults): 1 insufficient funds, 2 unknown account, 3 account exists, 4 bad request,
 * 5 limit reached (account table full, or a balance above 10^15). The response text explains each.
 *
 * Build flags: HP_VERSION ("1.0.0"), HP_MODULE_NAME ("ledger"), HP_LEDGER_TRANSFER_FEE (0; 1.1.0 builds with 1:
 * each transfer also debits that fee from the payer and credits it to the account "fees", opened on first use),
 * and the fault flags of faults.h.
 *
 * hp_init config: optional lines "<acct> <balance>" that open accounts. State hand-off format (text):
 * "hotplane-ledger/1\n" then one "<acct> <balance>\n" line per account; every version reads it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hotplane_module.h"
#include "faults.h"

#ifndef HP_MODULE_NAME
#define HP_MODULE_NAME "ledger"
#endif
#ifndef HP_VERSION
#define HP_VERSION "1.0.0"
#endif
#ifndef HP_LEDGER_TRANSFER_FEE
#define HP_LEDGER_TRANSFER_FEE 0
#endif

enum ledger_answer {
  LEDGER_INSUFFICIENT_FUNDS = 1,
  LEDGER_UNKNOWN_ACCOUNT = 2,
  LEDGER_ACCOUNT_EXISTS = 3,
  LEDGER_BAD_REQUEST = 4,
  LEDGER_LIMIT = 5,
};

#define ACCOUNT_NAME_MAX 31
#define LEDGER_CAPACITY 8192
/* Open addressing with a power-of-two table twice the capacity keeps probe chains short without a resize path. */
#define LEDGER_SLOTS 16384
/* Per-account cap: money is conserved by transfers, so the total of a full table then always fits in int64. */
#define LEDGER_MAX_BALANCE 1000000000000000LL
#define FEES_ACCOUNT "fees"
#define STATE_HEADER "hotplane-ledger/1\n"

struct account {
  char name[ACCOUNT_NAME_MAX + 1];
  int64_t balance;
};

struct ledger {
  struct account *accounts;
  size_t count, capacity;
  uint32_t *slots; /* index + 1 into accounts; 0 = empty */
  size_t slot_mask;
};

struct word {
  const char *text;
  size_t len;
};

/* Two full tables so that hp_state_import parses into the spare one and swaps only when everything parsed: a
 * failed import leaves the live balances untouched. Static, so the module never allocates. */
static struct account accounts_a[LEDGER_CAPACITY], accounts_b[LEDGER_CAPACITY];
static uint32_t slots_a[LEDGER_SLOTS], slots_b[LEDGER_SLOTS];
static struct ledger ledger_a = {accounts_a, 0, LEDGER_CAPACITY, slots_a, LEDGER_SLOTS - 1};
static struct ledger ledger_b = {accounts_b, 0, LEDGER_CAPACITY, slots_b, LEDGER_SLOTS - 1};
static struct ledger *live = &ledger_a, *spare = &ledger_b;
static int initialized;

static void ledger_clear(struct ledger *l) {
  l->count = 0;
  memset(l->slots, 0, (l->slot_mask + 1) * sizeof l->slots[0]);
}

static uint32_t name_hash(const char *name, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)name[i]) * 16777619u;
  return h;
}

/* Returns the slot holding the account, or the empty slot where it would go. */
static uint32_t *ledger_slot(const struct ledger *l, const char *name, size_t len) {
  for (size_t i = name_hash(name, len) & l->slot_mask;; i = (i + 1) & l->slot_mask) {
    uint32_t *slot = &l->slots[i];
    if (*slot == 0) return slot;
    const struct account *a = &l->accounts[*slot - 1];
    if (strlen(a->name) == len && memcmp(a->name, name, len) == 0) return slot;
  }
}

static struct account *ledger_find(const struct ledger *l, const char *name, size_t len) {
  uint32_t *slot = ledger_slot(l, name, len);
  return *slot ? &l->accounts[*slot - 1] : NULL;
}

static int valid_name(const char *name, size_t len) {
  if (len == 0 || len > ACCOUNT_NAME_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
             c == '-';
    if (!ok) return 0;
  }
  return 1;
}

static int32_t ledger_open(struct ledger *l, const char *name, size_t len, int64_t balance) {
  uint32_t *slot = ledger_slot(l, name, len);
  if (*slot) return LEDGER_ACCOUNT_EXISTS;
  if (l->count == l->capacity) return LEDGER_LIMIT;
  struct account *a = &l->accounts[l->count++];
  memcpy(a->name, name, len);
  a->name[len] = '\0';
  a->balance = balance;
  *slot = (uint32_t)l->count;
  return HP_OK;
}

static int parse_amount(struct word w, int64_t *out) {
  if (w.len == 0 || w.len > 19) return 0;
  int64_t value = 0;
  for (size_t i = 0; i < w.len; i++) {
    if (w.text[i] < '0' || w.text[i] > '9') return 0;
    int digit = w.text[i] - '0';
    if (value > (INT64_MAX - digit) / 10) return 0;
    value = value * 10 + digit;
  }
  *out = value;
  return 1;
}

static size_t split_words(const char *text, size_t len, struct word *words, size_t max_words) {
  size_t n = 0, i = 0;
  while (i < len) {
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    if (i == len) break;
    size_t start = i;
    while (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') i++;
    if (n == max_words) return max_words + 1;
    words[n++] = (struct word){text + start, i - start};
  }
  return n;
}

static int word_is(struct word w, const char *literal) {
  return strlen(literal) == w.len && memcmp(w.text, literal, w.len) == 0;
}

/* Parses "<acct> <balance>" lines into an empty ledger; the shared grammar of hp_init config and state bodies. */
static int load_account_lines(struct ledger *l, const char *text, size_t len) {
  while (len > 0) {
    const char *newline = memchr(text, '\n', len);
    size_t line_len = newline ? (size_t)(newline - text) : len;
    struct word w[2];
    size_t n = split_words(text, line_len, w, 2);
    int64_t balance;
    if (n == 2) {
      if (!valid_name(w[0].text, w[0].len) || !parse_amount(w[1], &balance) || balance > LEDGER_MAX_BALANCE) return 0;
      if (ledger_open(l, w[0].text, w[0].len, balance) != HP_OK) return 0;
    } else if (n != 0) {
      return 0;
    }
    size_t consumed = newline ? line_len + 1 : line_len;
    text += consumed;
    len -= consumed;
  }
  return 1;
}

/* snprintf-style: writes what fits, returns the full size needed. */
static size_t format_accounts(const struct ledger *l, char *out, size_t cap) {
  size_t needed = 0;
  char line[ACCOUNT_NAME_MAX + 32];
  for (size_t i = 0; i < l->count; i++) {
    int n = snprintf(line, sizeof line, "%s %" PRId64 "\n", l->accounts[i].name, l->accounts[i].balance);
    if (needed + (size_t)n <= cap) memcpy(out + needed, line, (size_t)n);
    needed += (size_t)n;
  }
  return needed;
}

static int32_t answer(int32_t code, const char *text, size_t len, uint8_t *resp, size_t resp_cap, size_t *resp_len) {
  *resp_len = len;
  if (len > resp_cap) return HP_BUFFER_TOO_SMALL;
  memcpy(resp, text, len);
  return code;
}

struct transfer {
  struct account *from, *to;
  int64_t amount, fee;
  int open_fees_account;
};

/* Checks everything and changes nothing, so the answer can be sized before the money moves: a response that does
 * not fit must leave the ledger as it was, since the host sends the same request again. */
static int32_t transfer_check(struct ledger *l, struct word from, struct word to, int64_t amount, struct transfer *t,
                              char *why, size_t why_cap) {
  t->from = ledger_find(l, from.text, from.len);
  t->to = ledger_find(l, to.text, to.len);
  t->amount = amount;
  t->fee = HP_LEDGER_TRANSFER_FEE;
  t->open_fees_account = t->fee > 0 && ledger_find(l, FEES_ACCOUNT, strlen(FEES_ACCOUNT)) == NULL;
  if (!t->from || !t->to) {
    struct word missing = t->from ? to : from;
    snprintf(why, why_cap, "unknown account: %.*s", (int)missing.len, missing.text);
    return LEDGER_UNKNOWN_ACCOUNT;
  }
  if (t->from == t->to || amount <= 0) {
    snprintf(why, why_cap, "bad request: transfer needs two different accounts and an amount above 0");
    return LEDGER_BAD_REQUEST;
  }
  if (t->from->balance < amount || t->from->balance - amount < t->fee) {
    snprintf(why, why_cap, "insufficient funds: %s has %" PRId64 ", needs %" PRId64, t->from->name, t->from->balance,
             amount + t->fee);
    return LEDGER_INSUFFICIENT_FUNDS;
  }
  if (t->to->balance > LEDGER_MAX_BALANCE - amount || (t->open_fees_account && l->count == l->capacity)) {
    snprintf(why, why_cap, "limit reached: account table full or balance above %lld", LEDGER_MAX_BALANCE);
    return LEDGER_LIMIT;
  }
  return HP_OK;
}

static void transfer_apply(struct ledger *l, const struct transfer *t) {
  t->from->balance -= t->amount + t->fee;
  t->to->balance += t->amount - HP_FAULT_LOGIC_DEFECT;
  if (t->fee > 0) {
    if (t->open_fees_account) ledger_open(l, FEES_ACCOUNT, strlen(FEES_ACCOUNT), 0);
    ledger_find(l, FEES_ACCOUNT, strlen(FEES_ACCOUNT))->balance += t->fee;
  }
}

static size_t transfer_text(const struct transfer *t, char *out, size_t cap) {
  int64_t from_after = t->from->balance - t->amount - t->fee, to_after = t->to->balance + t->amount;
  int n = t->fee > 0 ? snprintf(out, cap,
                                "transferred %" PRId64 " from %s to %s, fee %" PRId64 " to " FEES_ACCOUNT
                                "; %s %" PRId64 ", %s %" PRId64,
                                t->amount, t->from->name, t->to->name, t->fee, t->from->name, from_after, t->to->name,
                                to_after)
                     : snprintf(out, cap, "transferred %" PRId64 " from %s to %s; %s %" PRId64 ", %s %" PRId64,
                                t->amount, t->from->name, t->to->name, t->from->name, from_after, t->to->name,
                                to_after);
  return (size_t)n;
}

static int32_t handle_open(struct ledger *l, struct word name, int64_t amount, uint8_t *resp, size_t resp_cap,
                           size_t *resp_len) {
  char text[128];
  int32_t code = HP_OK;
  int len;
  if (ledger_find(l, name.text, name.len)) {
    code = LEDGER_ACCOUNT_EXISTS;
    len = snprintf(text, sizeof text, "account exists: %.*s", (int)name.len, name.text);
  } else if (l->count == l->capacity || amount > LEDGER_MAX_BALANCE) {
    code = LEDGER_LIMIT;
    len = snprintf(text, sizeof text, "limit reached: account table full or balance above %lld", LEDGER_MAX_BALANCE);
  } else {
    len = snprintf(text, sizeof text, "opened %.*s with %" PRId64, (int)name.len, name.text, amount);
  }
  int32_t result = answer(code, text, (size_t)len, resp, resp_cap, resp_len);
  if (result == HP_OK) ledger_open(l, name.text, name.len, amount);
  return result;
}

static int32_t handle_request(struct ledger *l, const char *req, size_t req_len, uint8_t *resp, size_t resp_cap,
                              size_t *resp_len) {
  char text[256];
  struct word w[4];
  size_t n = split_words(req, req_len, w, 4);
  int64_t amount;
  if (n == 3 && word_is(w[0], "open") && valid_name(w[1].text, w[1].len) && parse_amount(w[2], &amount))
    return handle_open(l, w[1], amount, resp, resp_cap, resp_len);
  if (n == 2 && word_is(w[0], "balance")) {
    const struct account *a = ledger_find(l, w[1].text, w[1].len);
    int len = a ? snprintf(text, sizeof text, "%s %" PRId64, a->name, a->balance)
                : snprintf(text, sizeof text, "unknown account: %.*s", (int)w[1].len, w[1].text);
    return answer(a ? HP_OK : LEDGER_UNKNOWN_ACCOUNT, text, (size_t)len, resp, resp_cap, resp_len);
  }
  if (n == 4 && word_is(w[0], "transfer") && parse_amount(w[3], &amount)) {
    struct transfer t;
    int32_t code = transfer_check(l, w[1], w[2], amount, &t, text, sizeof text);
    if (code != HP_OK) return answer(code, text, strlen(text), resp, resp_cap, resp_len);
    int32_t result = answer(HP_OK, text, transfer_text(&t, text, sizeof text), resp, resp_cap, resp_len);
    if (result == HP_OK) transfer_apply(l, &t);
    return result;
  }
  if (n == 1 && word_is(w[0], "total")) {
    int64_t total = 0;
    for (size_t i = 0; i < l->count; i++) total += l->accounts[i].balance;
    int len = snprintf(text, sizeof text, "total %" PRId64 " in %zu accounts", total, l->count);
    return answer(HP_OK, text, (size_t)len, resp, resp_cap, resp_len);
  }
  if (n == 1 && word_is(w[0], "dump")) {
    *resp_len = format_accounts(l, (char *)resp, resp_cap);
    return *resp_len > resp_cap ? HP_BUFFER_TOO_SMALL : HP_OK;
  }
  int len = snprintf(text, sizeof text,
                     "bad request: expected one of: open <acct> <amount> | balance <acct> | "
                     "transfer <from> <to> <amount> | total | dump");
  return answer(LEDGER_BAD_REQUEST, text, (size_t)len, resp, resp_cap, resp_len);
}

uint32_t hp_abi_version(void) { return HP_REPORTED_ABI_VERSION; }

const char *hp_module_name(void) { return HP_MODULE_NAME; }

const char *hp_module_version(void) { return HP_VERSION; }

int32_t hp_init(const char *config, size_t config_len) {
  hp_fault_on_init();
  ledger_clear(live);
  ledger_clear(spare);
  if (config_len > 0 && !load_account_lines(live, config, config_len)) return HP_FAULT;
  initialized = 1;
  return HP_OK;
}

int32_t hp_handle(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap, size_t *resp_len) {
  *resp_len = 0;
  if (!initialized) return HP_FAULT;
  int32_t fault = hp_fault_before_handle();
  if (fault != HP_OK) return fault;
  return handle_request(live, (const char *)req, req_len, resp, resp_cap, resp_len);
}

int32_t hp_health(void) { return initialized ? HP_OK : HP_FAULT; }

static int32_t scratch_request(struct ledger *scratch, const char *request) {
  uint8_t out[256];
  size_t out_len;
  return handle_request(scratch, request, strlen(request), out, sizeof out, &out_len);
}

/* Runs the real request path against a scratch ledger, so the live balances are never touched. */
int32_t hp_self_test(char *report, size_t report_cap) {
  static struct account scratch_accounts[4];
  static uint32_t scratch_slots[8];
  struct ledger scratch = {scratch_accounts, 0, 4, scratch_slots, 7};
  ledger_clear(&scratch);
  int64_t before = 1000, after = 0;

  scratch_request(&scratch, "open st-a 1000");
  scratch_request(&scratch, "open st-b 0");
  int moved_ok = scratch_request(&scratch, "transfer st-a st-b 250") == HP_OK &&
                 ledger_find(&scratch, "st-b", 4)->balance == 250;
  for (size_t i = 0; i < scratch.count; i++) after += scratch.accounts[i].balance;
  int funds_ok = scratch_request(&scratch, "transfer st-a st-b 5000") == LEDGER_INSUFFICIENT_FUNDS &&
                 ledger_find(&scratch, "st-b", 4)->balance == 250;
  int unknown_ok = scratch_request(&scratch, "transfer st-a nobody 1") == LEDGER_UNKNOWN_ACCOUNT;
  int pass = moved_ok && before == after && funds_ok && unknown_ok;

  if (report_cap > 0)
    snprintf(report, report_cap,
             "%s %s self-test: %s\n"
             "transfer of 250 credited: %s\n"
             "total conserved: %s (%" PRId64 " before, %" PRId64 " after)\n"
             "insufficient funds refused: %s\n"
             "unknown account refused: %s\n",
             HP_MODULE_NAME, HP_VERSION, pass ? "PASS" : "FAIL", moved_ok ? "ok" : "FAIL",
             before == after ? "ok" : "FAIL", before, after, funds_ok ? "ok" : "FAIL", unknown_ok ? "ok" : "FAIL");
  return pass ? HP_OK : 1;
}

void hp_shutdown(void) {
  ledger_clear(live);
  ledger_clear(spare);
  initialized = 0;
}

int32_t hp_state_export(uint8_t *buf, size_t cap, size_t *len) {
  size_t header = sizeof STATE_HEADER - 1;
  if (header <= cap) memcpy(buf, STATE_HEADER, header);
  *len = header + format_accounts(live, header <= cap ? (char *)buf + header : NULL, header <= cap ? cap - header : 0);
  return *len > cap ? HP_BUFFER_TOO_SMALL : HP_OK;
}

int32_t hp_state_import(const uint8_t *buf, size_t len) {
  size_t header = sizeof STATE_HEADER - 1;
  if (len < header || memcmp(buf, STATE_HEADER, header) != 0) return HP_FAULT;
  ledger_clear(spare);
  if (!load_account_lines(spare, (const char *)buf + header, len - header)) return HP_FAULT;
  struct ledger *previous = live;
  live = spare;
  spare = previous;
  return HP_OK;
}
