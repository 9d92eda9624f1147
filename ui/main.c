/* main.c - the forktop program (placeholder until the runner lands). */
#include <stdio.h>

#include "forktop.h"

int main(void) {
  printf("forktop %s\n", FT_VERSION);
  return 0;
}
