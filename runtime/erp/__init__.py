"""What the ERP knows: developments, units, contracts and their parties; and who may see what."""
