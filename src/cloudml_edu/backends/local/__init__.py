"""Local backends: each of the three training styles, run on this machine."""
