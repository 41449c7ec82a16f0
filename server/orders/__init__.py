"""Orders of medicine (在线购药): REST module over domain/orders.py."""
