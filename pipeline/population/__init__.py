"""The applicant data: feature names and types from the Avro schema (``features``), the synthetic
population of ``schemas/population.json`` (``synthetic``, with its expression language ``expressions``),
the validation rules (``validation``) and the TypeScript golden fixture (``fixture``)."""
