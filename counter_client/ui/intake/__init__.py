"""The intake page (收件): items, applicant, agent, materials and scans, delivery, review, confirm."""
