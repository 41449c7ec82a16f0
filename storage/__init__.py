"""MongoDB (and Redis) access: client lifecycle, indexes, one repository per collection.

No business rules live here; repositories translate between documents and domain objects.
"""
