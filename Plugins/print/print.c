/* The seed's Process example: two tasks that print, each in its own process. */
#include <taskhost/plugin.h>

#include <stdio.h>

static void print_numbers(void) {
    for (int i = 1; i <= 5; i++) {
        printf("Number %d\n", i);
        fflush(stdout);
    }
}

static void print_letters(void) {
    for (const char *letter = "abcde"; *letter; letter++) {
        printf("Letter %c\n", *letter);
        fflush(stdout);
    }
}

static const th_task tasks[] = {
    {.name = "print_numbers", .summary = "prints Number 1 to Number 5", .function = TH_FN(print_numbers),
     .result = TH_VOID},
    {.name = "print_letters", .summary = "prints Letter a to Letter e", .function = TH_FN(print_letters),
     .result = TH_VOID},
};
TH_EXPORT_PLUGIN("print", "1.0.0", "The seed's print_numbers and print_letters", tasks)
