import unittest

import greeter


class GreeterTest(unittest.TestCase):
    def test_greet(self):
        self.assertEqual(greeter.greet("stagefront"), "hello, stagefront")
        self.assertEqual(greeter.greet(), "hello, world")


if __name__ == "__main__":
    unittest.main()
