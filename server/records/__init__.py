"""The health record of a patient (REST): notes, vitals, allergies, conditions, prescriptions,
medication reminders, and the FHIR R4 export."""
