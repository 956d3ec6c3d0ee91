/* gcc -fopenmp: a parallel for with a reduction over four threads. */
#include <stdio.h>
#include <omp.h>
int main(){ long s=0;
#pragma omp parallel for reduction(+:s) num_threads(4)
 for (long i=0;i<1000000;i++) s+=i%7;
 printf("sum %ld\n", s); return 0; }
