"""The pharmacy: the drug catalogue and the pharmacist's review of prescriptions."""
