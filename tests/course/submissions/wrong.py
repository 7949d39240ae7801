def add(a, b):
    return a * b

ANSWER = 41
