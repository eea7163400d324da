"""cckpi: live contact-centre KPIs from Kafka."""

from streams.compiled import check

check()
