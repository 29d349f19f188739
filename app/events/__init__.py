"""Live order events: the log written with each change (`log`), the one reader per process
that feeds the open streams (`broker`), and a stream's body and response (`stream`)."""
