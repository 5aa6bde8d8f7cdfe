"""The daily sweep (run by beat and `manage.py run_advance_sweep`): `run.sweep_run` plans and runs the steps of
`advance` (notices N days ahead) and `on_the_day` (expiry and dormancy), `report` is what it reports, `sql` its
statements."""
