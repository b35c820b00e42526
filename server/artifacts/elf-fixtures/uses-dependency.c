int hp_dependency_value(void);

int hp_doubled_dependency_value(void) { return 2 * hp_dependency_value(); }
