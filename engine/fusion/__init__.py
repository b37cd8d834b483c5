"""The fused model: text + screenshot + conversation graph; its training and data."""
