/*
 * selftest.h: the built-in self-tests run by test=boot, printed as TAP
 * (exo/kern/selftest.c).
 */
#ifndef EXO_SELFTEST_H
#define EXO_SELFTEST_H

/* Run every test; returns how many printed "not ok". */
unsigned selftest_run(void);

#endif /* EXO_SELFTEST_H */
