"""Segments: RFM, lifetime value (BG/NBD + Gamma-Gamma), the customer portfolio, contact
intensity and personas. Pure algorithms plus Ibis plans over the warehouse; no I/O of its own
beyond reading through an Ibis connection."""
