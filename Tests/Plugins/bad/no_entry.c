/* A shared library that is not a TaskHost plugin. */
int not_a_plugin(int x) { return x + 1; }
