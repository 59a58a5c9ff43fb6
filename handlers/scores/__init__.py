"""积分: teachers' activity points, the activity API and the scores CLI."""
