// The CLI tests reuse the quant tests' MLX layout checker.
#include "quant/mlx_layout_check.cpp"  // NOLINT(bugprone-suspicious-include)
