"""The 寄递 page: cases waiting to be mailed, parcels, the waybill pool."""
