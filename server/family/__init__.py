"""Family members (就诊人): the people an account manages (domain/family.py)."""
