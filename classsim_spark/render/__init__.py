"""Static figures of classsim results (matplotlib, Agg backend)."""
