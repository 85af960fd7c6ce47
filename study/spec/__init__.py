"""Studies as data: config fields and their values (fields.py), the search-space syntax (space.py),
study files (studyfile.py: ``Study``, ``Search``), the shipped studies (catalogue.py) and a study
read from a file or a study folder (load.py). Imports basics and frontier's options only."""
