"""Energy models on ±1 units: E(x) = -1/2 x^T W x - b^T x."""
