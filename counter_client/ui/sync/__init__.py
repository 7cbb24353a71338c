"""The 同步 page: the delivery queue, today's deliveries, reconciliation, login; the 补正 / 不予受理 notices."""
