// The image store: see ../shared/DESIGN.md (BerthImages).
