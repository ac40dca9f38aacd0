// The CLI tests reuse the model tests' checkpoint writers (MLX-layout conversion of the fixture).
#include "model/test_checkpoints.cpp"  // NOLINT(bugprone-suspicious-include)
