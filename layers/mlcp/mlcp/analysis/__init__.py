"""Canary analysis: candidate vs baseline per metric (Mann-Whitney U), a score and a verdict.

Pure functions, standard library only (the runtime layer stays small): ``mannwhitney`` is the test,
``judge`` classifies, scores and decides as Kayenta does.
"""
