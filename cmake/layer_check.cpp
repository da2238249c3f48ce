// Linked with one whole nucseg module and its declared dependencies (src/CMakeLists.txt): the
// program only has to link, which proves the module needs nothing from a module it does not list.
int main() { return 0; }
