def add(a, b):
    while True:
        pass
ANSWER = 42
