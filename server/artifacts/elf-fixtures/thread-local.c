/* Compiled twice: with -ftls-model=initial-exec (needs static TLS) and with the default model. */
__thread int hp_request_count;

int hp_count_request(void) { return ++hp_request_count; }
