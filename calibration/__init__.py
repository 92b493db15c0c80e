"""INT8 calibration data, fp32-versus-INT8 checks, and the score calibration of the "no known action" threshold."""
