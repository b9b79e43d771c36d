"""一网统管: city events, smart dispatch, deadlines, supervision, citizen feedback, Open311."""
