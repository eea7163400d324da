"""Simulated contact-centre traffic for every input topic (`cckpi simulate`).

`scenario` is the data (teams, queues, agents, shifts, curves), `behaviour`
the pure draws and rate calibration, `generator` and `tickets` the seeded,
time-ordered event heap, and `runner` the only part that touches Kafka.
Nothing is imported here, so tests and benchmarks can use the generator
without loading aiokafka.
"""
