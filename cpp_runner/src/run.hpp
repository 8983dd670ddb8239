// Runs a validated spec and writes hello .. end (or an error) to the sink.
#pragma once
#include "records.hpp"
#include "spec.hpp"

// Returns the process exit status: 0 when the run completed, 1 after an error record.
int run_spec(const Spec& spec, RecordSink& out);
