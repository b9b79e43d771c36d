"""共享交换: sharing applications, grants, the data API and its usage log."""
