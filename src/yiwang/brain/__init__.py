"""城市智脑: the plan's 20 indicators, city signs, warnings, forecasts, evaluation and the cockpit."""
