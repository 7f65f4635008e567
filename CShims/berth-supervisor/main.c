/* berth-supervisor: see Package.swift */
int main(void) { return 2; }
