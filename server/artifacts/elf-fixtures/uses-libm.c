#include <math.h>

double hp_angle_cosine(double angle) { return cos(angle); }
