/* Linked into a temporary library that a dependent module names in DT_NEEDED. */
int hp_dependency_value(void) { return 7; }
